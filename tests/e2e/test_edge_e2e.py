"""The edge as real clients see it: virtual keys, cluster-wide limits, legacy completions, Anthropic
messages via the official `anthropic` SDK, model visibility, and two edge replicas sharing one Redis."""
from __future__ import annotations

import asyncio
import time

import anthropic
import httpx
import openai
import pytest

from services.common import redis_conn
from tests.e2e.conftest import MASTER_KEY

ADMIN = {"Authorization": f"Bearer {MASTER_KEY}"}


def _root(base_url: str) -> str:
    return base_url.removesuffix("/v1")


def create_key(base_url: str, **attrs) -> dict:
    resp = httpx.post(_root(base_url) + "/api/v1/keys", headers=ADMIN, json={"workspace": "ws-a", **attrs})
    assert resp.status_code == 201, resp.text
    return resp.json()


def chat(root: str, key: str, model: str = "fake-echo", **extra) -> httpx.Response:
    return httpx.post(root + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      json={"model": model, "messages": [{"role": "user", "content": "hi there"}], **extra})


def test_key_is_shown_once_and_stored_hashed(base_url, mesh):
    created = create_key(base_url, name="ci")
    token = created["key"]
    assert token.startswith("ty-") and created["hint"] != token
    listed = httpx.get(_root(base_url) + "/api/v1/keys", headers=ADMIN).json()["data"]
    assert any(k["key_id"] == created["key_id"] for k in listed)
    assert token not in httpx.get(_root(base_url) + "/api/v1/keys", headers=ADMIN).text
    async def stored() -> list[bytes]:
        r = redis_conn.connect(mesh.redis_url)
        try:
            return [await r.dump(key) or b"" async for key in r.scan_iter("ty:key*")]
        finally:
            await r.aclose()

    dumps = asyncio.run(stored())
    assert dumps and not any(token.encode() in d for d in dumps)
    assert chat(_root(base_url), token).status_code == 200


def test_admin_api_needs_master_key(base_url):
    token = create_key(base_url)["key"]
    resp = httpx.post(_root(base_url) + "/api/v1/keys", headers={"Authorization": f"Bearer {token}"},
                      json={"workspace": "ws-a"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"


def test_key_create_validation_names_the_field(base_url):
    resp = httpx.post(_root(base_url) + "/api/v1/keys", headers=ADMIN, json={"workspace": "ws a/../b", "rpm": -1})
    assert resp.status_code == 400 and resp.json()["error"]["param"] in ("workspace", "rpm")


def test_allowed_models_limit_what_the_key_sees_and_uses(base_url):
    token = create_key(base_url, models=["fake-echo"])["key"]
    with openai.OpenAI(base_url=base_url, api_key=token, max_retries=0) as c:
        assert [m.id for m in c.models.list()] == ["fake-echo"]
        with pytest.raises(openai.NotFoundError):
            c.chat.completions.create(model="fake-tool-call", messages=[{"role": "user", "content": "x"}])
        assert c.chat.completions.create(model="fake-echo", messages=[{"role": "user", "content": "ok"}]).choices


def test_expired_key_is_rejected(base_url):
    token = create_key(base_url, expires_at=int(time.time()) - 5)["key"]
    assert chat(_root(base_url), token).status_code == 401


def test_revocation_reaches_both_replicas_within_a_second(base_url, second_edge):
    created = create_key(base_url)
    token, roots = created["key"], [_root(base_url), second_edge]
    assert [chat(r, token).status_code for r in roots] == [200, 200]
    resp = httpx.delete(roots[0] + f"/api/v1/keys/{created['key_id']}", headers=ADMIN)
    assert resp.status_code == 200
    deadline = time.monotonic() + 1.0
    statuses = [0, 0]
    while time.monotonic() < deadline and statuses != [401, 401]:
        statuses = [chat(r, token).status_code for r in roots]
    assert statuses == [401, 401]


def test_rpm_limit_holds_across_two_edges(base_url, second_edge):
    token = create_key(base_url, rpm=10)["key"]
    roots = [_root(base_url), second_edge]

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as c:
            return await asyncio.gather(*(
                c.post(roots[i % 2] + "/v1/chat/completions", headers={"Authorization": f"Bearer {token}"},
                       json={"model": "fake-echo", "messages": [{"role": "user", "content": "x"}]})
                for i in range(30)))

    t0 = time.monotonic()
    responses = asyncio.run(fire())
    elapsed = time.monotonic() - t0
    ok = [r for r in responses if r.status_code == 200]
    limited = [r for r in responses if r.status_code == 429]
    assert len(ok) + len(limited) == 30
    # A full minute's allowance may burst at once; it refills one request every 6 s.
    assert 10 <= len(ok) <= 10 + int(elapsed / 6)
    assert ok[0].headers["x-ratelimit-limit-requests"] == "10"
    assert "x-ratelimit-remaining-requests" in ok[0].headers and "x-ratelimit-reset-requests" in ok[0].headers
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].json()["error"]["code"] == "rate_limit_exceeded"


def test_tpm_limit_holds_across_two_edges_and_settles_to_actual(base_url, second_edge):
    token = create_key(base_url, tpm=500)["key"]
    roots = [_root(base_url), second_edge]

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as c:
            return await asyncio.gather(*(
                c.post(roots[i % 2] + "/v1/chat/completions", headers={"Authorization": f"Bearer {token}"},
                       json={"model": "fake-slow-100", "max_tokens": 400,
                             "messages": [{"role": "user", "content": "a b c"}]})
                for i in range(8)))

    responses = asyncio.run(fire())
    # Each request is charged ~405 tokens up front: only one fits in 500 at a time.
    assert sorted(r.status_code for r in responses) == [200] + [429] * 7
    # The charge was corrected to the few tokens actually used, so the next request fits at once.
    later = chat(roots[1], token, max_tokens=400)
    assert later.status_code == 200, later.text
    assert int(later.headers["x-ratelimit-limit-tokens"]) == 500


def test_legacy_completions_through_openai_sdk(client):
    resp = client.completions.create(model="fake-echo", prompt="complete this please", max_tokens=20)
    assert resp.object == "text_completion" and resp.choices[0].text == "complete this please"
    assert resp.usage.completion_tokens == 3
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model="fake-echo", prompt="streamed words", stream=True) if c.choices)
    assert streamed == "streamed words"
    echoed = client.completions.create(model="fake-echo", prompt="ab", echo=True)
    assert echoed.choices[0].text == "abab"


def test_legacy_completions_reject_what_chat_cannot_do(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.completions.create(model="fake-echo", prompt="x", suffix="y")
    assert exc.value.body["param"] == "suffix"


def test_anthropic_sdk_messages(base_url):
    with anthropic.Anthropic(base_url=_root(base_url), api_key=MASTER_KEY, max_retries=0) as c:
        msg = c.messages.create(model="fake-echo", max_tokens=100, system="be nice",
                                messages=[{"role": "user", "content": "hello claude"}])
        assert msg.content[0].text == "hello claude" and msg.stop_reason == "end_turn"
        assert msg.usage.output_tokens == 2
        with c.messages.stream(model="fake-echo", max_tokens=100,
                               messages=[{"role": "user", "content": "stream me"}]) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        assert text == "stream me" and final.usage.output_tokens == 2


def test_anthropic_sdk_tool_use_and_bearer_auth(base_url):
    tools = [{"name": "lookup", "description": "d", "input_schema": {"type": "object"}}]
    with anthropic.Anthropic(base_url=_root(base_url), auth_token=MASTER_KEY, max_retries=0) as c:
        msg = c.messages.create(model="fake-tool-call", max_tokens=100, tools=tools,
                                messages=[{"role": "user", "content": "Lima"}])
        block = msg.content[-1]
        assert msg.stop_reason == "tool_use" and block.type == "tool_use" and block.name == "lookup"
        assert block.input == {"location": "Lima", "unit": "celsius"}
        with c.messages.stream(model="fake-tool-call", max_tokens=100, tools=tools,
                               messages=[{"role": "user", "content": "Quito"}]) as stream:
            final = stream.get_final_message()
        assert final.content[-1].input == {"location": "Quito", "unit": "celsius"}


def test_anthropic_errors_in_anthropic_shape(base_url):
    with anthropic.Anthropic(base_url=_root(base_url), api_key="ty-bad", max_retries=0) as c:
        with pytest.raises(anthropic.AuthenticationError) as exc:
            c.messages.create(model="fake-echo", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert exc.value.body["type"] == "error" and exc.value.body["error"]["type"] == "authentication_error"
    resp = httpx.post(_root(base_url) + "/v1/messages", headers={"x-api-key": MASTER_KEY},
                      json={"model": "fake-echo", "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in resp.json()["error"]["message"]


def test_openapi_document_lists_the_surface(base_url):
    doc = httpx.get(_root(base_url) + "/openapi.json").json()
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/embeddings", "/api/v1/keys"):
        assert path in doc["paths"]


def test_agent_limit_is_shared_by_every_key_of_the_agent(base_url):
    resp = httpx.put(_root(base_url) + "/api/v1/agents/ag-limited/limits", headers=ADMIN, json={"rpm": 2})
    assert resp.status_code == 200 and resp.json()["rpm"] == 2
    keys = [create_key(base_url, agent_id="ag-limited")["key"] for _ in range(2)]
    statuses = [chat(_root(base_url), keys[i % 2]).status_code for i in range(4)]
    assert statuses == [200, 200, 429, 429]


def test_key_a_cannot_read_key_bs_usage(base_url):
    a = create_key(base_url, workspace="ws-tenant-a")["key"]
    b = create_key(base_url, workspace="ws-tenant-b")["key"]
    assert chat(_root(base_url), b).status_code == 200
    own = httpx.get(_root(base_url) + "/api/v1/usage", headers={"Authorization": f"Bearer {a}"})
    assert own.status_code == 200 and own.json()["totals"]["requests"] == 0
    other = httpx.get(_root(base_url) + "/api/v1/usage", params={"workspace": "ws-tenant-b"},
                      headers={"Authorization": f"Bearer {a}"})
    assert other.status_code == 403
    keys = httpx.get(_root(base_url) + "/api/v1/keys", headers={"Authorization": f"Bearer {a}"})
    assert keys.status_code == 403


def test_agent_answers_as_a_model_through_the_openai_sdk(base_url, client):
    api = httpx.Client(base_url=_root(base_url), headers=ADMIN, timeout=30)
    assert api.post("/api/v1/agents", json={"id": "as-model-backup", "model": "fake-echo",
                                            "workspace": "ws-agents"}).status_code == 201
    assert api.post("/api/v1/agents", json={"id": "as-model", "model": "fake-error-500", "workspace": "ws-agents",
                                            "fallbackAgents": ["as-model-backup"]}).status_code == 201
    # The primary's upstream fails before its first token: its fallback agent answers, invisibly.
    resp = client.chat.completions.create(model="agent/as-model", messages=[{"role": "user", "content": "hi agent"}])
    assert resp.choices[0].message.content == "hi agent"
    streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="agent/as-model-backup", stream=True, messages=[{"role": "user", "content": "streamed agent"}])
        if c.choices)
    assert streamed == "streamed agent"
    # Another workspace's key cannot reach the agent; its own workspace's key can.
    outsider = create_key(base_url, workspace="ws-elsewhere")["key"]
    insider = create_key(base_url, workspace="ws-agents")["key"]
    body = {"model": "agent/as-model-backup", "messages": [{"role": "user", "content": "x"}]}
    assert httpx.post(base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {outsider}"},
                      timeout=30).status_code == 404
    assert httpx.post(base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {insider}"},
                      timeout=30).status_code == 200
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="agent/none-such", messages=[{"role": "user", "content": "x"}])


def test_agent_that_names_only_a_tier_gets_the_tiers_model(base_url):
    api = httpx.Client(base_url=_root(base_url), headers=ADMIN, timeout=30)
    assert api.post("/api/v1/agents", json={"id": "tiered-agent", "tier": "economy"}).status_code == 201
    resp = api.post("/api/v1/agents/tiered-agent/chat", json={"message": "economy answer"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] == "economy answer"
