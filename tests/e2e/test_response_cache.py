"""The exact-match response cache as clients meet it: opt-in, hits without an upstream call, streams replayed
as streams, metered as cache hits, scoped per workspace, only deterministic requests, clear header errors."""
from __future__ import annotations

import secrets

import httpx
import orjson

from tests.e2e.conftest import MASTER_KEY, usage_record
from tests.e2e.test_edge_e2e import _root, create_key


def _body(marker: str, **extra) -> dict:
    return {"model": "up-echo", "temperature": 0, "messages": [{"role": "user", "content": f"cache {marker}"}], **extra}


def _post(base_url: str, body, key: str = MASTER_KEY, **headers) -> httpx.Response:
    return httpx.post(_root(base_url) + "/v1/chat/completions", timeout=30, content=orjson.dumps(body),
                      headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers})


def _calls(upstream, marker: str) -> int:
    return len([r for r in upstream.requests if marker in orjson.dumps(r.body).decode()])


def _text(resp: httpx.Response) -> str:
    return resp.json()["choices"][0]["message"]["content"]


def test_a_repeat_is_answered_from_the_cache_without_an_upstream_call_and_metered_as_a_hit(base_url, upstream, mesh):
    marker = secrets.token_hex(6)
    first = _post(base_url, _body(marker), **{"x-tokenyard-cache": "on"})
    assert first.status_code == 200 and first.headers["x-tokenyard-cache"] == "miss"
    # The same question in another JSON layout (key order, spacing) is the same question.
    again = {"temperature": 0, "messages": [{"content": f"cache {marker}", "role": "user"}], "model": "up-echo"}
    hit = _post(base_url, again, **{"x-tokenyard-cache": "on"})
    assert hit.status_code == 200 and hit.headers["x-tokenyard-cache"] == "hit"
    assert _calls(upstream, marker) == 1
    assert _text(hit) == _text(first) and hit.json()["id"] != first.json()["id"]
    assert hit.json()["usage"] == first.json()["usage"]
    record = usage_record(mesh, hit.headers["x-request-id"])
    assert record["deployment"] == "cache" and float(record["cost_usd"]) == 0 and record["cost_known"] is True
    tokens = int(record["prompt_tokens"]) + int(record["completion_tokens"])
    assert tokens == first.json()["usage"]["total_tokens"] > 0


def test_a_stream_replays_from_the_cache_as_a_stream(base_url, upstream):
    marker = secrets.token_hex(6)
    first = _post(base_url, _body(marker), **{"x-tokenyard-cache": "on"})
    with httpx.stream("POST", _root(base_url) + "/v1/chat/completions", timeout=30, json=_body(marker, stream=True),
                      headers={"Authorization": f"Bearer {MASTER_KEY}", "x-tokenyard-cache": "on"}) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers["x-tokenyard-cache"] == "hit"
        events = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in map(orjson.loads, events[:-1]) if c["choices"])
    assert text == _text(first) and _calls(upstream, marker) == 1


def test_workspaces_never_see_each_others_answers(base_url, upstream):
    marker = secrets.token_hex(6)
    a = create_key(base_url, workspace="ws-cache-a")["key"]
    b = create_key(base_url, workspace="ws-cache-b")["key"]
    a2 = create_key(base_url, workspace="ws-cache-a")["key"]
    assert _post(base_url, _body(marker), a, **{"x-tokenyard-cache": "on"}).headers["x-tokenyard-cache"] == "miss"
    assert _post(base_url, _body(marker), b, **{"x-tokenyard-cache": "on"}).headers["x-tokenyard-cache"] == "miss"
    assert _post(base_url, _body(marker), a2, **{"x-tokenyard-cache": "on"}).headers["x-tokenyard-cache"] == "hit"
    assert _calls(upstream, marker) == 2


def test_sampled_requests_are_not_cached_and_off_and_refresh_do_what_they_say(base_url, upstream):
    marker = secrets.token_hex(6)
    sampled = _body(marker, temperature=0.7)
    for _ in range(2):
        assert _post(base_url, sampled, **{"x-tokenyard-cache": "on"}).headers["x-tokenyard-cache"] == "skip"
    assert _calls(upstream, marker) == 2
    seeded = _body(marker, temperature=0.7, seed=7)
    assert _post(base_url, seeded, **{"x-tokenyard-cache": "on"}).headers["x-tokenyard-cache"] == "miss"
    assert _post(base_url, seeded, **{"x-tokenyard-cache": "on"}).headers["x-tokenyard-cache"] == "hit"
    off = _post(base_url, seeded, **{"x-tokenyard-cache": "off"})
    assert "x-tokenyard-cache" not in off.headers
    assert _post(base_url, seeded, **{"x-tokenyard-cache": "refresh"}).headers["x-tokenyard-cache"] == "refresh"
    assert _calls(upstream, marker) == 5


def test_a_key_can_opt_in_for_all_its_requests(base_url, upstream):
    marker = secrets.token_hex(6)
    key = create_key(base_url, workspace="ws-cache-key", metadata={"cache": "on"})["key"]
    assert _post(base_url, _body(marker), key).headers["x-tokenyard-cache"] == "miss"
    assert _post(base_url, _body(marker), key).headers["x-tokenyard-cache"] == "hit"
    assert "x-tokenyard-cache" not in _post(base_url, _body(secrets.token_hex(6))).headers  # not opted in
    assert _calls(upstream, marker) == 1


def test_a_malformed_cache_header_is_a_clear_400(base_url):
    for headers in ({"x-tokenyard-cache": "maybe"}, {"x-tokenyard-cache": "on", "x-tokenyard-cache-ttl": "-5"},
                    {"x-tokenyard-cache": "on", "x-tokenyard-cache-ttl": "soon"}):
        resp = _post(base_url, _body("x"), **headers)
        assert resp.status_code == 400
        error = resp.json()["error"]
        assert error["code"] == "invalid_cache_header" and error["param"] in headers and error["type"] == \
            "invalid_request_error"


def test_an_answer_stored_from_a_stream_serves_a_plain_request(base_url, upstream):
    marker = secrets.token_hex(6)
    with httpx.stream("POST", _root(base_url) + "/v1/chat/completions", timeout=30, json=_body(marker, stream=True),
                      headers={"Authorization": f"Bearer {MASTER_KEY}", "x-tokenyard-cache": "on"}) as resp:
        assert resp.headers["x-tokenyard-cache"] == "miss"
        events = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
    streamed = "".join(c["choices"][0]["delta"].get("content") or ""
                       for c in map(orjson.loads, events[:-1]) if c["choices"])
    hit = _post(base_url, _body(marker), **{"x-tokenyard-cache": "on"})
    assert hit.headers["x-tokenyard-cache"] == "hit" and _text(hit) == streamed != ""
    assert _calls(upstream, marker) == 1
