"""An upstream's verdict on the request goes back to the client and leaves the shared breaker alone;
a deployment's own faults open it; a 429 cools one deployment down (issue 17, item 1)."""
from __future__ import annotations

import grpc
import pytest

from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router

ROUTING = {"breaker": {"consecutive": 2, "cooldown": 30}, "cooldown_wait": 0,
           "retry": {"attempts": 3, "base": 0.001, "cap": 0.001}}

LLAMA_GRAMMAR_500 = {"code": 500, "type": "server_error",
                     "message": "Failed to parse grammar from json_schema at http://10.0.0.5:8080/v1: "
                                "unsupported keyword 'patternProperties'"}
LLAMA_CONTEXT_400 = {"code": 400, "type": "exceed_context_size_error",
                     "message": "the request exceeds the available context size, try increasing it"}


async def _states(r) -> dict[str, str]:
    await r.app.breakers.flush()
    return {name: st for name, (st, _) in r.app.breakers.seen.items()}


async def _expect_error(r, model="m", text="hi"):
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await r.chat(model, text)
    return exc.value, dict(exc.value.trailing_metadata())


@pytest.mark.parametrize("status,error,http,code", [
    (500, LLAMA_GRAMMAR_500, "400", "upstream_invalid_request"),
    (400, LLAMA_CONTEXT_400, "400", "context_length_exceeded"),
    (413, {"message": "request entity too large", "type": "invalid_request_error"}, "413", "upstream_invalid_request"),
    (422, {"message": "field `n` must be 1", "type": "invalid_request_error"}, "422", "upstream_invalid_request"),
    (404, {"message": "model 'gemma' not found", "type": "invalid_request_error"}, "404", "model_not_found"),
])
async def test_a_verdict_on_the_request_is_not_retried_and_never_opens_the_breaker(
        redis_client, status, error, http, code):
    a = await FaultUpstream("a", status=status, error=error).start()
    b = await FaultUpstream("b", status=status, error=error).start()
    deps = [openai_dep("a", a, ["m"], vendor="llamacpp"), openai_dep("b", b, ["m"], vendor="llamacpp")]
    r = await start_router(deps, ROUTING, redis=redis_client)
    try:
        for _ in range(4):  # twice the breaker's threshold
            err, md = await _expect_error(r)
            assert (md["ty-http-status"], md["ty-error-code"]) == (http, code)
        assert a.count() + b.count() == 4  # one attempt per request: the same request fails everywhere
        assert set((await _states(r)).values()) == {"closed"}
        assert "http://" not in err.details() and "10.0.0.5" not in err.details()
        if status == 500:
            assert "unsupported keyword 'patternProperties'" in err.details()  # the server's reason, cleaned
        a.status = b.status = 0
        text, _ = await r.chat("m")  # the model still serves everyone else
        assert text.startswith(("a0", "b0"))
    finally:
        await r.stop()
        await a.stop()
        await b.stop()


async def test_a_plain_500_and_a_bad_deployment_key_still_open_the_breaker(redis_client):
    a = await FaultUpstream("a", status=500).start()
    b = await FaultUpstream("b", api_key="right-key").start()
    deps = [openai_dep("a", a, ["m"]), openai_dep("b", b, ["m"], api_key="wrong-key")]
    r = await start_router(deps, ROUTING, redis=redis_client)
    try:
        for _ in range(2):
            err, md = await _expect_error(r)
        assert md["ty-http-status"] in ("502", "503")
        assert await _states(r) == {"a/m": "open", "b/m": "open"}
    finally:
        await r.stop()
        await a.stop()
        await b.stop()


async def test_a_429_cools_that_deployment_down_without_opening_its_breaker(redis_client):
    a = await FaultUpstream("a", status=429, retry_after=30).start()
    b = await FaultUpstream("b").start()
    routing = {**ROUTING, "groups": {"m": {"strategy": "priority"}}}
    r = await start_router([openai_dep("a", a, ["m"]), openai_dep("b", b, ["m"])], routing, redis=redis_client)
    try:
        text, final = await r.chat("m")
        assert text.startswith("b0") and list(final.tried_deployments) == ["a", "b"]
        for _ in range(4):  # a asked for 30 s: nobody calls it meanwhile, though it is first by priority
            text, _ = await r.chat("m")
            assert text.startswith("b0")
        assert a.count() == 1
        assert (await _states(r)).get("a/m", "closed") == "closed"
    finally:
        await r.stop()
        await a.stop()
        await b.stop()
