"""Self-registering upstream nodes: picked up within seconds by every replica, dropped after the TTL."""
from __future__ import annotations

import asyncio

import grpc
import pytest

from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import start_router
from tokenyard.router.v1 import router_pb2


async def _until(predicate, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_registered_node_gets_traffic_within_2s_and_none_after_its_ttl(redis_client):
    node = await FaultUpstream("node").start()
    static = [{"name": "fake", "provider": "fake", "models": ["fake-echo"]}]
    a = await start_router(static, {}, redis=redis_client, poll=0.2)
    b = await start_router(static, {}, redis=redis_client, poll=0.2)
    try:
        reg = await a.stub.RegisterUpstream(router_pb2.RegisterUpstreamRequest(
            node_id="gpu-1", base_url=node.base_url, models=["llama-local"], capacity=8, ttl_seconds=1))
        assert reg.deployment == "node:gpu-1"

        async def served_by_b() -> bool:
            try:
                text, _ = await b.chat("llama-local")
            except grpc.aio.AioRpcError:
                return False
            return text.startswith("node0")

        assert await _until(served_by_b, 2.0)  # replica B learned it from the shared registry
        models = await b.stub.ListModels(router_pb2.ListModelsRequest())
        assert "llama-local" in {m.id for m in models.models}
        assert (await a.stub.Heartbeat(router_pb2.HeartbeatRequest(node_id="gpu-1"))).known
        # No more heartbeats: after the TTL (1 s) and one poll the node is gone from both replicas.
        await asyncio.sleep(1.5)
        calls = node.count()
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await b.chat("llama-local")
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
        assert node.count() == calls
        assert not (await a.stub.Heartbeat(router_pb2.HeartbeatRequest(node_id="gpu-1"))).known
    finally:
        await a.stop()
        await b.stop()
        await node.stop()


async def test_static_config_and_registry_merge_and_bad_registrations_are_400(redis_client):
    node = await FaultUpstream("node").start()
    r = await start_router([{"name": "fake", "provider": "fake", "models": ["shared"]}], {"groups": {
        "shared": {"strategy": "priority"}}}, redis=redis_client, poll=0.1)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await r.stub.RegisterUpstream(router_pb2.RegisterUpstreamRequest(node_id="x", base_url="ftp://nope",
                                                                             models=["m"]))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "base_url" in exc.value.details()
        await r.stub.RegisterUpstream(router_pb2.RegisterUpstreamRequest(
            node_id="n1", base_url=node.base_url, models=["shared"], ttl_seconds=30))
        health = None
        for _ in range(40):
            health = await r.stub.GetHealth(router_pb2.GetHealthRequest())
            if len(health.deployments) == 2:
                break
            await asyncio.sleep(0.05)
        assert {(d.name, d.source) for d in health.deployments} == {("fake", "static"), ("node:n1", "registered")}
        assert (await r.stub.DeregisterUpstream(router_pb2.DeregisterUpstreamRequest(node_id="n1"))).removed
    finally:
        await r.stop()
        await node.stop()


async def test_a_registry_outage_is_logged_once_not_at_every_poll(redis_cluster):
    """A router given a plain URL of a Cluster node: every poll gets MOVED; the log says so once."""
    from structlog.testing import capture_logs

    from services.common import redis_conn
    from services.router.node_registry import INDEX, NodeRegistry, RegistryPoller
    from services.router.upstreams import UpstreamBook
    from tests.conftest import misdirected_url

    client = redis_conn.connect(misdirected_url(redis_cluster, INDEX))
    poller = RegistryPoller(NodeRegistry(client), UpstreamBook((), factory=lambda d: None), poll=1.0)
    try:
        with capture_logs() as logs:
            for _ in range(10):
                await poller.refresh()
        warnings = [e for e in logs if e["event"] == "upstream_registry_unreachable_keeping_last_nodes"]
        assert len(warnings) == 1 and warnings[0]["error"] == "MovedError"
        assert poller.failed_polls == 10
    finally:
        await client.aclose()
