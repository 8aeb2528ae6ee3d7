"""Circuit breakers in Redis: open after N failures, recover through half-open, shared by replicas,
and the router keeps serving on local state when Redis is gone."""
from __future__ import annotations

import asyncio

import grpc

from services.common.redis_server import LocalRedis
from services.router.breaker import key
from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router
from tokenyard.router.v1 import router_pb2

ROUTING = {"breaker": {"consecutive": 3, "cooldown": 0.4, "max_cooldown": 2}, "cooldown_wait": 0,
           "retry": {"attempts": 1}, "groups": {"m": {"strategy": "priority"}}}


async def _health(router, name: str) -> router_pb2.DeploymentHealth:
    await router.app.breakers.flush()
    resp = await router.stub.GetHealth(router_pb2.GetHealthRequest())
    return next(d for d in resp.deployments if d.name == name)


async def test_breaker_opens_after_n_failures_and_recovers_through_half_open(redis_client):
    up = await FaultUpstream("a", status=500).start()
    r = await start_router([openai_dep("a", up, ["m"])], ROUTING, redis=redis_client)
    try:
        for _ in range(3):
            try:
                await r.chat("m")
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.UNAVAILABLE
        h = await _health(r, "a")
        assert (h.breaker_state, h.status, h.consecutive_failures) == ("open", "unhealthy", 3)
        assert h.errors_by_kind["http_5xx"] == 3
        assert (await redis_client.hget(key("a/m"), "st")) == b"open"
        # Open: refused without calling the upstream, 503 with Retry-After.
        calls = up.count()
        try:
            await r.chat("m")
            raise AssertionError("an open breaker must refuse")
        except grpc.aio.AioRpcError as err:
            md = dict(err.trailing_metadata())
            assert err.code() == grpc.StatusCode.UNAVAILABLE and "ty-retry-after" in md
        assert up.count() == calls
        # After the cooldown one probe goes through; it fails, so the breaker reopens for longer.
        await asyncio.sleep(0.45)
        try:
            await r.chat("m")
        except grpc.aio.AioRpcError:
            pass
        assert up.count() == calls + 1
        await r.app.breakers.flush()
        assert float(await redis_client.hget(key("a/m"), "cd")) == 800  # doubled after the failed probe
        # The upstream heals; after the longer cooldown the probe succeeds and closes the breaker.
        up.status = 0
        await asyncio.sleep(0.85)
        text, _ = await r.chat("m")
        assert text.startswith("a0")
        h = await _health(r, "a")
        assert (h.breaker_state, h.status, h.consecutive_failures) == ("closed", "healthy", 0)
    finally:
        await r.stop()
        await up.stop()


async def test_replica_b_refuses_a_deployment_replica_a_saw_fail(redis_client):
    bad, good = await FaultUpstream("bad", status=503).start(), await FaultUpstream("good").start()
    deps = [openai_dep("bad", bad, ["m"]), openai_dep("good", good, ["m"])]
    routing = {**ROUTING, "retry": {"attempts": 2, "base": 0.001, "cap": 0.001}, "breaker": {"consecutive": 3,
                                                                                          "cooldown": 30}}
    a = await start_router(deps, routing, redis=redis_client)
    b = await start_router(deps, routing, redis=redis_client)
    try:
        for _ in range(3):
            text, _ = await a.chat("m")  # bad fails first, good answers: the client never notices
            assert text.startswith("good")
        await a.app.breakers.flush()
        seen_by_bad = bad.count()
        assert seen_by_bad == 3
        for _ in range(5):
            text, final = await b.chat("m")
            assert text.startswith("good") and list(final.tried_deployments) == ["good"]
        assert bad.count() == seen_by_bad  # B never sent it a request
        h = await _health(b, "bad")
        assert h.breaker_state == "open"
    finally:
        await a.stop()
        await b.stop()
        await bad.stop()
        await good.stop()


async def test_with_redis_stopped_the_router_serves_from_local_state_and_reports_degraded(tmp_path):
    server = LocalRedis(tmp_path / "redis").start()
    from services.common import redis_conn

    client = redis_conn.connect(server.url)
    bad, good = await FaultUpstream("bad", status=500).start(), await FaultUpstream("good").start()
    routing = {**ROUTING, "retry": {"attempts": 2, "base": 0.001, "cap": 0.001}, "breaker": {"consecutive": 2,
                                                                                          "cooldown": 30}}
    r = await start_router([openai_dep("bad", bad, ["m"]), openai_dep("good", good, ["m"])], routing, redis=client)
    try:
        health = await r.stub.GetHealth(router_pb2.GetHealthRequest())
        assert not health.degraded and health.state_store == "redis"
        server.stop()
        for _ in range(6):
            text, _ = await r.chat("m")
            assert text.startswith("good")
        assert bad.count() == 2  # the local breaker opened after two failures, without Redis
        health = await r.stub.GetHealth(router_pb2.GetHealthRequest())
        assert health.degraded and health.state_store == "local"
        assert next(d for d in health.deployments if d.name == "bad").breaker_state == "open"
    finally:
        await r.stop()
        await bad.stop()
        await good.stop()
        server.stop()
