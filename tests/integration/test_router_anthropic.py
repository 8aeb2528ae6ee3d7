"""The Anthropic Messages adapter through the real router, against a fake that speaks Anthropic's
documented streaming format."""
from __future__ import annotations

import grpc
import orjson
import pytest

from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router
from tokenyard.router.v1 import router_pb2


@pytest.fixture
async def claude():
    up = await FakeAnthropicUpstream().start()
    yield up
    await up.stop()


def _dep(up, **extra) -> dict:
    return {"name": "anthropic", "provider": "anthropic", "base_url": up.base_url, "api_key": up.api_key,
            "models": ["claude-*"], **extra}


async def _collect(router, req: router_pb2.ChatRequest):
    deltas, final = [], None
    async for msg in router.stub.Chat(req, timeout=10):
        deltas.extend(msg.deltas)
        if msg.HasField("final"):
            final = msg.final
    return deltas, final


async def test_text_stream_stop_reason_and_usage_are_translated(claude, redis_client):
    r = await start_router([_dep(claude)], {}, redis=redis_client)
    try:
        req = router_pb2.ChatRequest(model="claude-echo", messages=[
            router_pb2.Message(role="system", content="Be brief."),
            router_pb2.Message(role="user", content="Hi")], stop=["END"], temperature=0.2)
        deltas, final = await _collect(r, req)
        assert "".join(d.content for d in deltas) == "Hello from Claude"
        assert [d.finish_reason for d in deltas if d.finish_reason] == ["stop"]
        assert (final.usage.prompt_tokens, final.usage.completion_tokens, final.usage.cached_tokens) == (16, 7, 4)
        sent, headers = claude.requests[0], claude.headers[0]
        assert sent["system"] == "Be brief." and sent["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
        assert sent["max_tokens"] == 4096 and sent["stop_sequences"] == ["END"] and sent["stream"] is True
        assert headers["x-api-key"] == claude.api_key and "Authorization" not in headers
        _, final = await _collect(r, router_pb2.ChatRequest(
            model="claude-max-tokens", max_tokens=5, messages=[router_pb2.Message(role="user", content="Hi")]))
        assert claude.requests[-1]["max_tokens"] == 5
    finally:
        await r.stop()


async def test_tool_use_round_trip(claude, redis_client):
    r = await start_router([_dep(claude)], {}, redis=redis_client)
    try:
        tool = router_pb2.Tool(type="function", name="get_weather", description="Weather",
                               parameters_json='{"type":"object","properties":{"location":{"type":"string"}}}')
        req = router_pb2.ChatRequest(model="claude-tool", tools=[tool], tool_choice_json='"required"', messages=[
            router_pb2.Message(role="user", content="Weather in Paris?"),
            router_pb2.Message(role="assistant", content_null=True, tool_calls=[router_pb2.ToolCall(
                id="toolu_00", type="function", name="get_weather", arguments='{"location": "Rome"}')]),
            router_pb2.Message(role="tool", tool_call_id="toolu_00", content="18C"),
            router_pb2.Message(role="user", content="And Paris?")])
        deltas, final = await _collect(r, req)
        calls = [tc for d in deltas for tc in d.tool_calls]
        assert calls[0].id == "toolu_01" and calls[0].name == "get_weather"
        assert orjson.loads("".join(c.arguments for c in calls)) == {"location": "Paris", "unit": "celsius"}
        assert [d.finish_reason for d in deltas if d.finish_reason] == ["tool_calls"]
        sent = claude.requests[0]
        assert sent["tools"][0]["input_schema"]["properties"]["location"] == {"type": "string"}
        assert sent["tool_choice"] == {"type": "any"}
        assert sent["messages"][1]["content"] == [{"type": "tool_use", "id": "toolu_00", "name": "get_weather",
                                                   "input": {"location": "Rome"}}]
        assert sent["messages"][2]["content"][0] == {"type": "tool_result", "tool_use_id": "toolu_00",
                                                     "content": "18C"}
    finally:
        await r.stop()


async def test_an_error_event_before_output_fails_over_to_another_provider(claude, redis_client):
    backup = await FaultUpstream("gpt").start()
    r = await start_router([_dep(claude), openai_dep("openai", backup, ["gpt-4o"])],
                           {"groups": {"claude-overloaded": {"fallbacks": ["gpt-4o"]}}}, redis=redis_client)
    try:
        text, final = await r.chat("claude-overloaded")
        assert text.startswith("gpt0") and list(final.tried_deployments)[0] == "anthropic"
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await r.chat("claude-http-401")
        assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await r.stop()
        await backup.stop()


async def test_a_stream_that_stalls_after_its_first_token_ends_at_the_idle_timeout(claude, redis_client):
    r = await start_router([_dep(claude, timeouts={"idle": 0.5})], {}, redis=redis_client)
    try:
        req = router_pb2.ChatRequest(model="claude-stall", max_tokens=50,
                                     messages=[router_pb2.Message(role="user", content="hi")])
        deltas, final = await _collect(r, req)
        assert "".join(d.content for d in deltas) == "Hello"
        assert final.error.code == "stream_interrupted"
    finally:
        await r.stop()
