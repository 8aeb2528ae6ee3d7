"""Exact usage whenever the upstream gives it; honest, bounded estimates when it does not (issue 17,
item 3). The fake upstream behaves like llama.cpp's servers: usage only in non-streamed answers."""
from __future__ import annotations

from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router
from tokenyard.router.v1 import router_pb2


def _request(**fields) -> router_pb2.ChatRequest:
    return router_pb2.ChatRequest(model="m", messages=[router_pb2.Message(role="user", content="hello there")],
                                  **fields)


async def test_a_client_that_does_not_stream_is_billed_the_upstreams_exact_counts(redis_client):
    up = await FaultUpstream("a", stream_usage=False, usage=(13, 5)).start()
    r = await start_router([openai_dep("a", up, ["m"], vendor="llamacpp")], redis=redis_client)
    try:
        answer = await r.stub.Complete(_request(request_id="req-whole"), timeout=10)
        u = answer.final.usage
        assert (u.prompt_tokens, u.completion_tokens, u.estimated) == (13, 5, False)
        assert up.calls[-1].body["stream"] is False
        await r.wait_records(1)
        assert r.meter.records["req-whole"].usage.completion_tokens == 5
    finally:
        await r.stop()
        await up.stop()


async def test_an_estimate_is_marked_and_never_exceeds_max_tokens(redis_client):
    up = await FaultUpstream("a", stream_usage=False, tokens=12).start()
    r = await start_router([openai_dep("a", up, ["m"], vendor="llamacpp")], redis=redis_client)
    try:
        text, final = await r.chat("m", request_id="req-est", max_tokens=4)
        assert text.count(" ") == 12
        u = final.usage
        assert u.estimated and u.completion_tokens == 4 and u.prompt_tokens > 0
        await r.wait_records(1)
        assert r.meter.records["req-est"].usage.estimated
    finally:
        await r.stop()
        await up.stop()


async def test_a_stream_without_usage_is_counted_by_the_servers_own_tokenizer(redis_client):
    up = await FaultUpstream("a", stream_usage=False, tokens=6).start()
    r = await start_router([openai_dep("a", up, ["m"], vendor="llamacpp")], redis=redis_client)
    try:
        text, final = await r.chat("m", "hello there")
        assert text == "a0 a1 a2 a3 a4 a5 "
        u = final.usage
        # The server's tokenizer (one token per word here): 6 for the answer, 2 for the prompt plus
        # the chat template's guessed overhead (3 per message, 3 to prime the reply).
        assert (u.completion_tokens, u.prompt_tokens, u.estimated) == (6, 2 + 3 + 3, True)
        assert {c.path for c in up.calls} == {"/v1/chat/completions", "/extras/tokenize/count"}
    finally:
        await r.stop()
        await up.stop()
