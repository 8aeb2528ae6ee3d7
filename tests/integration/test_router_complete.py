"""Complete: the one-message form of Chat that the edge uses for clients that don't stream. It must answer
exactly what Chat streams (text, tool calls, usage, routing), fail the same way, and meter once."""
from __future__ import annotations

import json

import grpc
import pytest

from tests.integration.router_harness import start_router
from tokenyard.router.v1 import router_pb2

FAKE = [{"name": "fake", "provider": "fake", "models": ["fake-*"]}]


def _request(model: str, text: str = "alpha beta gamma delta", request_id: str = "", **fields):
    return router_pb2.ChatRequest(model=model, request_id=request_id,
                                  messages=[router_pb2.Message(role="user", content=text)], **fields)


async def test_a_multi_message_answer_arrives_whole_and_equals_the_stream(redis_client):
    r = await start_router(FAKE, {}, redis=redis_client)
    try:
        # 5 ms between tokens: the stream takes several messages, which Complete must merge.
        streamed = [m async for m in r.stub.Chat(_request("fake-slow-5"), timeout=20)]
        assert sum(1 for m in streamed if m.deltas) > 1
        answer = await r.stub.Complete(_request("fake-slow-5", request_id="req-complete"), timeout=20)
        assert answer.id and answer.model
        assert [d.index for d in answer.deltas] == [0]
        assert answer.deltas[0].role == "assistant"
        assert answer.deltas[0].content == "".join(d.content for m in streamed for d in m.deltas)
        assert answer.deltas[0].content == "alpha beta gamma delta"
        assert answer.deltas[0].finish_reason == "stop"
        assert answer.final.deployment == "fake" and answer.final.attempts == 1
        assert answer.final.usage.completion_tokens == streamed[-1].final.usage.completion_tokens > 0
        await r.wait_records(2)
        record = r.meter.records["req-complete"]
        assert record.status == "ok" and record.usage.completion_tokens == answer.final.usage.completion_tokens
    finally:
        await r.stop()


async def test_tool_call_arguments_are_joined_into_one_call(redis_client):
    r = await start_router(FAKE, {}, redis=redis_client)
    try:
        tool = router_pb2.Tool(type="function", name="get_weather", parameters_json='{"type": "object"}')
        answer = await r.stub.Complete(_request("fake-tool-call", "weather in Paris?", tools=[tool]), timeout=20)
        calls = answer.deltas[0].tool_calls
        assert len(calls) == 1 and calls[0].name == "get_weather" and calls[0].id
        assert isinstance(json.loads(calls[0].arguments), dict)
        assert answer.deltas[0].finish_reason == "tool_calls"
    finally:
        await r.stop()


async def test_failure_before_the_first_token_is_the_same_status_as_chat(redis_client):
    r = await start_router(FAKE, {"retry": {"attempts": 1}}, redis=redis_client)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as streamed:
            async for _ in r.stub.Chat(_request("fake-error-500"), timeout=20):
                pass
        with pytest.raises(grpc.aio.AioRpcError) as whole:
            await r.stub.Complete(_request("fake-error-500"), timeout=20)
        assert whole.value.code() == streamed.value.code() != grpc.StatusCode.OK
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await r.stub.Complete(router_pb2.ChatRequest(model="fake-echo"), timeout=20)
        assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        await r.stop()


async def test_a_stream_cut_after_output_is_a_partial_answer_with_the_error_in_final(redis_client):
    r = await start_router(FAKE, {}, redis=redis_client)
    try:
        answer = await r.stub.Complete(_request("fake-cut-after-3", request_id="req-cut"), timeout=20)
        assert answer.deltas[0].content  # the tokens that did arrive
        assert answer.final.error.code == "stream_interrupted"
        await r.wait_records(1)
        assert r.meter.records["req-cut"].status == "interrupted"
    finally:
        await r.stop()
