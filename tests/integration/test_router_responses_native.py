"""Responses -> Responses through the router's OpenAI provider, against a fake Responses API: the
client's body arrives as it was sent (hosted tools, include, reasoning...), and the upstream's events
come back as the chat chunks the rest of the router reads."""
from __future__ import annotations

import orjson
import pytest

from services.router.config import Deployment, ModelRoute
from services.router.providers.base import UpstreamError
from services.router.providers.openai_chat import OpenAIChatProvider
from services.router.providers.responses_passthrough import speaks_responses
from tests.fakes.responses_upstream import FakeResponsesUpstream
from tokenyard.router.v1 import router_pb2

BODY = {"model": "gpt-x", "input": [{"role": "user", "content": "hi"},
                                    {"type": "reasoning", "encrypted_content": "enc", "summary": []}],
        "tools": [{"type": "web_search"}, {"type": "function", "name": "lookup", "parameters": {"type": "object"}},
                  {"type": "custom", "name": "apply_patch"}],
        "include": ["reasoning.encrypted_content"], "reasoning": {"effort": "high", "summary": "auto"},
        "text": {"verbosity": "low"}, "truncation": "auto", "store": False, "max_output_tokens": 500}


@pytest.fixture
async def upstream():
    up = await FakeResponsesUpstream().start()
    yield up
    await up.stop()


def request(body: dict = BODY, **fields) -> router_pb2.ChatRequest:
    req = router_pb2.ChatRequest(model="gpt-x", messages=[router_pb2.Message(role="user", content="hi")], **fields)
    req.native.dialect, req.native.body_json = "openai.responses", orjson.dumps(body).decode()
    return req


async def collect(provider, req, upstream_model: str = "gpt-x-2026") -> list[dict]:
    out = []
    async for batch in provider.stream(req, upstream_model):
        out.extend(batch)
    return out


async def test_native_body_reaches_the_upstream_and_events_come_back_as_chunks(upstream):
    provider = OpenAIChatProvider(Deployment("oai", "openai", (ModelRoute("gpt-x", "gpt-x-2026"),),
                                             base_url=upstream.base_url), responses_native=True)
    try:
        chunks = await collect(provider, request(max_completion_tokens=100))
    finally:
        await provider.aclose()
    assert upstream.requests == [{**BODY, "model": "gpt-x-2026", "stream": True, "max_output_tokens": 100}]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hi from responses"
    calls = [t for c in chunks if c["choices"] for t in c["choices"][0]["delta"].get("tool_calls") or ()]
    assert [(t["index"], t.get("id"), t["function"].get("name"), t["function"]["arguments"]) for t in calls] == [
        (0, "call_up1", "lookup", ""), (0, None, None, '{"q":'), (0, None, None, '"x"}'),
        (1, "call_up2", "apply_patch", '{"input":"*** Begin"}')]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"] == {"prompt_tokens": 21, "completion_tokens": 3, "total_tokens": 24,
                                   "prompt_tokens_details": {"cached_tokens": 5}}


async def test_a_failed_native_response_is_an_upstream_error(upstream):
    provider = OpenAIChatProvider(Deployment("oai", "openai", (), base_url=upstream.base_url), responses_native=True)
    try:
        with pytest.raises(UpstreamError) as err:
            await collect(provider, request({**BODY, "tools": []}), "fail")
    finally:
        await provider.aclose()
    assert "upstream broke" in err.value.message and err.value.kind == "stream_error"


def test_only_the_openai_api_is_sent_responses_natively():
    assert speaks_responses(Deployment("o", "openai", (), base_url="https://api.openai.com/v1"))
    assert not speaks_responses(Deployment("v", "openai", (), base_url="http://127.0.0.1:8000/v1"))
