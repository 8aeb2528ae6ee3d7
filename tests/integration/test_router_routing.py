"""Retries, Retry-After, fallback chains, waiting for a cooling deployment, and BYOK isolation."""
from __future__ import annotations

import grpc
import pytest

from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router
from tokenyard.common.v1 import common_pb2


class RecordingSleep:
    """Records every backoff the router asks for (and sleeps for real only a little)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        import asyncio

        self.delays.append(delay)
        await asyncio.sleep(min(delay, 0.01))


async def test_fallback_order_is_followed(redis_client):
    ups = {n: await FaultUpstream(n, status=500 if n != "local" else 0).start() for n in ("gpt", "claude", "local")}
    deps = [openai_dep("d-gpt", ups["gpt"], ["gpt-4o"]), openai_dep("d-claude", ups["claude"], ["claude-sonnet"]),
            openai_dep("d-local", ups["local"], ["local-llama"])]
    routing = {"retry": {"attempts": 1}, "groups": {"gpt-4o": {"fallbacks": ["claude-sonnet", "local-llama"]}}}
    r = await start_router(deps, routing, redis=redis_client)
    try:
        text, final = await r.chat("gpt-4o", request_id="req-fb")
        assert text.startswith("local0")
        assert list(final.tried_deployments) == ["d-gpt", "d-claude", "d-local"]
        assert (final.deployment, final.attempts, final.fallbacks) == ("d-local", 3, 2)
        await r.wait_records(1)
        assert r.meter.records["req-fb"].model == "local-llama"  # the model actually served is what is billed
    finally:
        await r.stop()
        for up in ups.values():
            await up.stop()


async def test_retry_after_is_honoured_and_a_final_429_carries_it(redis_client):
    up = await FaultUpstream("a", status=429, retry_after=0.7).start()
    sleep = RecordingSleep()
    routing = {"retry": {"attempts": 3, "base": 0.05, "cap": 0.2}, "breaker": {"consecutive": 10}}
    r = await start_router([openai_dep("a", up, ["m"])], routing, redis=redis_client, sleep=sleep)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await r.chat("m")
        assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert float(dict(exc.value.trailing_metadata())["ty-retry-after"]) == pytest.approx(0.7)
        assert up.count() == 3
        assert len(sleep.delays) == 2 and all(d >= 0.69 for d in sleep.delays)  # never sooner than asked (less the time spent since)
    finally:
        await r.stop()
        await up.stop()


async def test_backoff_delays_fall_within_full_jitter_bounds(redis_client):
    up = await FaultUpstream("a", status=503).start()
    sleep = RecordingSleep()
    routing = {"retry": {"attempts": 4, "base": 0.1, "cap": 0.25}, "breaker": {"consecutive": 50}}
    r = await start_router([openai_dep("a", up, ["m"])], routing, redis=redis_client, sleep=sleep, seed=3)
    try:
        for _ in range(5):
            with pytest.raises(grpc.aio.AioRpcError):
                await r.chat("m")
        assert len(sleep.delays) == 15
        for i, d in enumerate(sleep.delays):
            assert 0 <= d <= min(0.25, 0.1 * 2 ** (i % 3))
        assert len({round(d, 6) for d in sleep.delays}) > 10  # jittered, not a fixed schedule
    finally:
        await r.stop()
        await up.stop()


async def test_a_retry_that_would_pass_the_deadline_is_not_made(redis_client):
    up = await FaultUpstream("a", status=429, retry_after=30).start()
    r = await start_router([openai_dep("a", up, ["m"])], {"breaker": {"consecutive": 10}}, redis=redis_client)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await r.chat("m", timeout=2)
        assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and up.count() == 1
    finally:
        await r.stop()
        await up.stop()


async def test_when_everything_cools_down_the_router_waits_for_the_first_to_reopen(redis_client):
    up = await FaultUpstream("a", status=500).start()
    routing = {"retry": {"attempts": 1}, "breaker": {"consecutive": 1, "cooldown": 0.3}, "cooldown_wait": 2}
    r = await start_router([openai_dep("a", up, ["m"])], routing, redis=redis_client)
    try:
        with pytest.raises(grpc.aio.AioRpcError):
            await r.chat("m")
        await r.app.breakers.flush()
        up.status = 0
        text, _ = await r.chat("m")  # open now: waits ~0.3 s for the half-open probe instead of failing
        assert text.startswith("a0")
    finally:
        await r.stop()
        await up.stop()


async def test_beyond_the_wait_bound_the_answer_is_503_with_retry_after(redis_client):
    up = await FaultUpstream("a", status=500).start()
    routing = {"retry": {"attempts": 1}, "breaker": {"consecutive": 1, "cooldown": 20}, "cooldown_wait": 0.1}
    r = await start_router([openai_dep("a", up, ["m"])], routing, redis=redis_client)
    try:
        with pytest.raises(grpc.aio.AioRpcError):
            await r.chat("m")
        await r.app.breakers.flush()
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await r.chat("m")
        md = dict(exc.value.trailing_metadata())
        assert exc.value.code() == grpc.StatusCode.UNAVAILABLE and md["ty-http-status"] == "503"
        assert 15 <= float(md["ty-retry-after"]) <= 20
    finally:
        await r.stop()
        await up.stop()


async def test_a_byok_key_never_reaches_another_provider(redis_client):
    customer_key = "sk-customer-own-key"
    openai_up = await FaultUpstream("oa", status=500).start()
    minimax_up = await FaultUpstream("mm", api_key="sk-gateway-minimax").start()
    deps = [openai_dep("openai", openai_up, ["gpt-4o"], api_key="sk-gateway-openai", vendor="openai"),
            openai_dep("minimax", minimax_up, ["MiniMax-M2"], api_key="sk-gateway-minimax", vendor="minimax")]
    routing = {"retry": {"attempts": 2, "base": 0.001, "cap": 0.001},
               "provider_default_models": {"minimax": "MiniMax-M2"}}
    r = await start_router(deps, routing, redis=redis_client)
    try:
        # Without BYOK the openai group falls back along the default chain to minimax.
        text, final = await r.chat("gpt-4o")
        assert text.startswith("mm0") and final.fallbacks == 1
        seen_before = minimax_up.count()
        openai_up.api_key = customer_key
        # With the customer's own OpenAI key: only OpenAI gets it, and no fallback crosses providers.
        byok = common_pb2.ProviderCredential(provider="openai", api_key=customer_key)
        with pytest.raises(grpc.aio.AioRpcError):
            await r.chat("gpt-4o", byok=byok)
        assert minimax_up.count() == seen_before
        assert all(customer_key not in c.authorization for c in minimax_up.calls)
        assert [c.authorization for c in openai_up.calls[-2:]] == [f"Bearer {customer_key}"] * 2
        openai_up.status = 0
        text, final = await r.chat("gpt-4o", byok=byok)
        assert text.startswith("oa0") and final.deployment == "openai"
    finally:
        await r.stop()
        await openai_up.stop()
        await minimax_up.stop()


async def test_byok_base_url_gets_the_customer_key_and_nothing_else(redis_client):
    own = await FaultUpstream("own", api_key="sk-their-key").start()
    gateway = await FaultUpstream("gw").start()
    r = await start_router([openai_dep("openai", gateway, ["gpt-4o"], api_key="sk-gateway")], {}, redis=redis_client)
    try:
        byok = common_pb2.ProviderCredential(provider="openai", base_url=own.base_url, api_key="sk-their-key",
                                             model="their-model")
        text, final = await r.chat("gpt-4o", byok=byok)
        assert text.startswith("own0") and final.deployment == "byok:openai"
        assert own.calls[0].model == "their-model" and gateway.count() == 0
    finally:
        await r.stop()
        await own.stop()
        await gateway.stop()
