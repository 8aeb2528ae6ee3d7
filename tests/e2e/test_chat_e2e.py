"""The mesh end to end, driven by the official `openai` SDK as a user would."""
from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import openai
import pytest

from tests.e2e.conftest import MASTER_KEY, usage_record


def test_non_streaming_answer_parses_like_openai(client):
    resp = client.chat.completions.create(model="fake-echo", messages=[{"role": "user", "content": "hello tokenyard"}])
    assert resp.object == "chat.completion"
    assert resp.id.startswith("chatcmpl-")
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == "hello tokenyard"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.completion_tokens == 2
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + 2


def test_streaming_usage_matches_what_the_meter_recorded(client, mesh):
    rid = f"req-e2e-{uuid.uuid4().hex}"
    stream = client.chat.completions.create(
        model="fake-echo", messages=[{"role": "user", "content": "one two three four"}], stream=True,
        stream_options={"include_usage": True}, extra_headers={"x-request-id": rid})
    text, usage = [], None
    for chunk in stream:
        if chunk.choices:
            text.append(chunk.choices[0].delta.content or "")
        if chunk.usage:
            usage = chunk.usage
    assert "".join(text) == "one two three four"
    assert usage is not None and usage.completion_tokens == 4
    record = usage_record(mesh, rid)
    assert int(record["prompt_tokens"]) == usage.prompt_tokens
    assert int(record["completion_tokens"]) == usage.completion_tokens
    assert record["status"] == "ok" and record["model"] == "fake-echo" and record["key_id"] == "master"


def test_usage_chunk_only_when_asked(client):
    chunks = list(client.chat.completions.create(model="fake-echo", stream=True,
                                                 messages=[{"role": "user", "content": "hi"}]))
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_tool_call_deltas_reassemble(client):
    tools = [{"type": "function", "function": {"name": "lookup_city", "parameters": {"type": "object"}}}]
    calls: dict[int, dict] = {}
    finish = None
    for chunk in client.chat.completions.create(model="fake-tool-call", tools=tools, stream=True,
                                                messages=[{"role": "user", "content": "Oslo"}]):
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or ():
                call = calls.setdefault(tc.index, {"id": None, "name": None, "args": ""})
                call["id"] = call["id"] or tc.id
                call["name"] = call["name"] or (tc.function.name if tc.function else None)
                call["args"] += (tc.function.arguments or "") if tc.function else ""
            finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    assert list(calls) == [0]
    assert calls[0]["name"] == "lookup_city" and calls[0]["id"]
    assert json.loads(calls[0]["args"]) == {"location": "Oslo", "unit": "celsius"}


def test_tool_call_non_streaming_is_assembled(client):
    tools = [{"type": "function", "function": {"name": "lookup_city", "parameters": {"type": "object"}}}]
    resp = client.chat.completions.create(model="fake-tool-call", tools=tools,
                                          messages=[{"role": "user", "content": "Rome"}])
    call = resp.choices[0].message.tool_calls[0]
    assert resp.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "lookup_city" and json.loads(call.function.arguments)["location"] == "Rome"


def test_fifty_concurrent_streams_all_complete(base_url):
    async def run() -> list[str]:
        async with openai.AsyncOpenAI(base_url=base_url, api_key=MASTER_KEY, max_retries=0, timeout=30) as c:
            async def one(i: int) -> str:
                stream = await c.chat.completions.create(
                    model="fake-slow-5", stream=True, messages=[{"role": "user", "content": f"stream {i} done"}])
                return "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
            return await asyncio.gather(*(one(i) for i in range(50)))

    assert asyncio.run(run()) == [f"stream {i} done" for i in range(50)]


def test_wrong_key_is_401(base_url):
    with openai.OpenAI(base_url=base_url, api_key="ty-wrong-key", max_retries=0) as c:
        with pytest.raises(openai.AuthenticationError) as exc:
            c.chat.completions.create(model="fake-echo", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 401
    assert exc.value.body["code"] == "invalid_api_key"


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as exc:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert exc.value.body["code"] == "model_not_found" and exc.value.body["param"] == "model"


def _post(base_url: str, body: bytes, path: str = "/chat/completions", method: str = "POST") -> httpx.Response:
    return httpx.request(method, base_url + path, content=body, timeout=10,
                         headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"})


def test_malformed_json_is_400(base_url):
    resp = _post(base_url, b'{"model": "fake-echo", "messages": [')
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_request_error"


def test_missing_messages_names_the_field(base_url):
    resp = _post(base_url, b'{"model": "fake-echo"}')
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["param"] == "messages" and "messages" in err["message"]


def test_wrong_field_type_names_the_path(base_url):
    resp = _post(base_url, b'{"model": "fake-echo", "messages": [{"role": "robot", "content": "x"}]}')
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "messages[0].role"


def test_body_too_large_is_413(base_url):
    big = b'{"model": "fake-echo", "messages": [{"role": "user", "content": "' + b"a" * (9 * 1024 * 1024) + b'"}]}'
    resp = _post(base_url, big)
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "request_too_large"


def test_unknown_path_and_wrong_method_use_openai_shape(base_url):
    missing = _post(base_url, b"{}", path="/nothing/here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_url"
    wrong = _post(base_url, b"", method="GET")
    assert wrong.status_code == 405 and "error" in wrong.json()


def test_upstream_500_is_502_in_openai_shape(client, upstream):
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="up-error-500", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 502
    body = exc.value.body
    assert set(body) == {"message", "type", "param", "code"} and body["type"] == "upstream_error"
    assert "127.0.0.1" not in body["message"] and "sk-upstream" not in body["message"]


def test_upstream_429_is_429_with_retry_after(base_url):
    resp = _post(base_url, b'{"model": "up-error-429", "messages": [{"role": "user", "content": "x"}]}')
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"


def test_upstream_cut_mid_stream_ends_with_error_event_not_done(base_url, client):
    with httpx.stream("POST", base_url + "/chat/completions", timeout=10,
                      headers={"Authorization": f"Bearer {MASTER_KEY}"},
                      json={"model": "up-cut-after-3", "stream": True,
                            "messages": [{"role": "user", "content": "x"}]}) as resp:
        assert resp.status_code == 200
        raw = resp.read().decode()
    assert "[DONE]" not in raw
    assert "event: error" in raw and '"finish_reason":"error"' in raw
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(model="up-cut-after-3", stream=True,
                                                messages=[{"role": "user", "content": "x"}]):
            pass


def test_client_disconnect_closes_upstream_and_records_partial_usage(base_url, upstream, mesh):
    rid = f"req-cancel-{uuid.uuid4().hex}"
    before = len(upstream.requests)
    with httpx.stream("POST", base_url + "/chat/completions", timeout=10,
                      headers={"Authorization": f"Bearer {MASTER_KEY}", "x-request-id": rid},
                      json={"model": "up-slow-300", "stream": True,
                            "messages": [{"role": "user", "content": "x"}]}) as resp:
        lines = resp.iter_lines()
        got = 0
        for line in lines:
            if line.startswith("data:") and '"content":"w' in line:
                got += 1
                if got == 2:
                    break
    # The client is gone: the upstream must see its connection closed soon after.
    seen = upstream.requests[before]
    deadline = time.monotonic() + 10
    while not seen.disconnected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen.disconnected and not seen.completed
    record = usage_record(mesh, rid)
    assert record["status"] == "cancelled"
    assert int(record["completion_tokens"]) >= 2 and record["estimated"] is True


def test_models_list_and_retrieve(client):
    ids = [m.id for m in client.models.list()]
    assert "fake-echo" in ids and "fake-tool-call" in ids
    assert client.models.retrieve("fake-echo").id == "fake-echo"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


def test_request_id_is_echoed(base_url):
    resp = httpx.post(base_url + "/chat/completions", timeout=10,
                      headers={"Authorization": f"Bearer {MASTER_KEY}", "x-request-id": "my-id-123"},
                      json={"model": "fake-echo", "messages": [{"role": "user", "content": "x"}]})
    assert resp.headers["x-request-id"] == "my-id-123"


def test_usage_endpoint_totals(base_url, client):
    client.chat.completions.create(model="fake-echo", messages=[{"role": "user", "content": "count me"}])
    resp = httpx.get(base_url.replace("/v1", "/api/v1/usage"), params={"period": "month"},
                     headers={"Authorization": f"Bearer {MASTER_KEY}"})
    body = resp.json()
    assert resp.status_code == 200 and body["totals"]["requests"] >= 1
    assert any(m["model"] == "fake-echo" for m in body["by_model"])
    bad = httpx.get(base_url.replace("/v1", "/api/v1/usage"), params={"period": "year"},
                    headers={"Authorization": f"Bearer {MASTER_KEY}"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "period"


def test_non_streaming_answer_cut_mid_way_is_502_not_a_partial_200(client):
    with pytest.raises(openai.APIStatusError) as err:
        client.chat.completions.create(model="up-cut-after-3", messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 502
    assert err.value.body["code"] == "stream_interrupted"


def test_non_streaming_client_that_leaves_cancels_the_upstream_and_is_metered(base_url, upstream, mesh):
    rid = f"req-cancel-unary-{uuid.uuid4().hex}"
    before = len(upstream.requests)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(base_url + "/chat/completions", timeout=httpx.Timeout(10, read=1.0),
                   headers={"Authorization": f"Bearer {MASTER_KEY}", "x-request-id": rid},
                   json={"model": "up-slow-1000", "messages": [{"role": "user", "content": "x"}]})
    deadline = time.monotonic() + 10
    while len(upstream.requests) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = upstream.requests[before]
    while not seen.disconnected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen.disconnected and not seen.completed
    record = usage_record(mesh, rid)
    assert record["status"] == "cancelled"
