"""`/readyz` tells the truth about a Redis Cluster: a node reached without the cluster URL, a healthy cluster."""
from __future__ import annotations

import grpc
import orjson
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.common import redis_conn
from services.edge.observe import Readiness
from tests.conftest import misdirected_url


async def _readyz(redis) -> tuple[int, dict]:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)   # the router is fine: only Redis is in question
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        response = await Readiness(channel, redis).readyz(None)
        return response.status, orjson.loads(response.body)
    finally:
        await channel.close()
        await server.stop(0)


async def test_a_cluster_node_reached_as_a_single_redis_is_not_ready(redis_cluster):
    client = redis_conn.connect(misdirected_url(redis_cluster, "ty:keys"))
    try:
        assert await client.ping()                                     # PING alone would have said ready
        status, body = await _readyz(client)
    finally:
        await client.aclose()
    assert status == 503 and body["checks"]["redis"] == "needs_cluster_url"


async def test_a_healthy_cluster_through_the_cluster_url_is_ready(redis_cluster):
    client = redis_conn.connect(redis_cluster.url)
    try:
        status, body = await _readyz(client)
    finally:
        await client.aclose()
    assert (status, body["checks"]) == (200, {"router": "ok", "redis": "ok"})
