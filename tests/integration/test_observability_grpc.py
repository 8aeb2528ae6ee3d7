"""The gRPC side of observability on real grpc.aio servers: spans across a server-streaming call (parent
and child, status on abort), and health that follows Redis and startup/draining."""
from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common import grpc_server, redis_conn
from services.common.grpc_observe import ObservingServerInterceptor, client_interceptors
from services.common.health import RedisHealth
from services.common.metrics import Metrics
from services.common.redis_server import LocalRedis
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

NAMES = ["tokenyard.router.v1.RouterService"]


class FakeRouter(router_pb2_grpc.RouterServiceServicer):
    """Streams three messages, or aborts with NOT_FOUND for model `missing`."""

    async def Chat(self, request, context):
        if request.model == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such model")
        for i in range(3):
            yield router_pb2.ChatResponse(id=f"m{i}")


@pytest.fixture
async def traced_router():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    metrics = Metrics()
    server, health, port = grpc_server.create_server(
        [lambda s: router_pb2_grpc.add_RouterServiceServicer_to_server(FakeRouter(), s)], NAMES, "127.0.0.1:0",
        [ObservingServerInterceptor(tracer, metrics)])
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=client_interceptors(tracer))
    yield router_pb2_grpc.RouterServiceStub(channel), tracer, exporter, metrics
    await channel.close()
    await server.stop(0)


async def _spans(exporter: InMemorySpanExporter, n: int):
    for _ in range(100):  # the client span ends from a done-callback, just after the call
        if len(exporter.get_finished_spans()) >= n:
            break
        await asyncio.sleep(0.01)
    return {s.kind: s for s in exporter.get_finished_spans()}


async def test_a_streaming_call_is_a_client_span_with_a_server_span_under_it(traced_router):
    stub, tracer, exporter, metrics = traced_router
    with tracer.start_as_current_span("edge request") as root:
        call = stub.Chat(router_pb2.ChatRequest(model="m"), timeout=5)
        got = [(await call.read()).id for _ in range(3)]  # the edge's read() API works through interceptors
        assert await call.read() is grpc.aio.EOF
    assert got == ["m0", "m1", "m2"]
    spans = await _spans(exporter, 3)
    client, server = spans[trace.SpanKind.CLIENT], spans[trace.SpanKind.SERVER]
    assert client.name == server.name == "tokenyard.router.v1.RouterService/Chat"
    assert client.parent.span_id == root.get_span_context().span_id
    assert server.parent.span_id == client.context.span_id
    assert server.context.trace_id == root.get_span_context().trace_id
    assert server.attributes["rpc.grpc.status_code"] == 0 and client.attributes["rpc.grpc.status_code"] == 0
    sample = metrics.registry.get_sample_value
    assert sample("tokenyard_requests_total", {"route": "/tokenyard.router.v1.RouterService/Chat", "code": "OK"}) == 1
    assert sample("tokenyard_inflight_requests", {"route": "/tokenyard.router.v1.RouterService/Chat"}) == 0


async def test_an_aborted_call_marks_both_spans_with_its_status(traced_router):
    stub, tracer, exporter, metrics = traced_router
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for _ in stub.Chat(router_pb2.ChatRequest(model="missing"), timeout=5):
            pass
    assert err.value.code() is grpc.StatusCode.NOT_FOUND
    spans = await _spans(exporter, 2)
    for span in spans.values():
        assert span.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
        assert span.status.status_code is trace.StatusCode.ERROR
    assert metrics.registry.get_sample_value(
        "tokenyard_errors_total", {"route": "/tokenyard.router.v1.RouterService/Chat", "code": "NOT_FOUND"}) == 1


async def _status(port: int) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return reply.status


async def _until(port: int, status: int) -> int:
    for _ in range(100):
        got = await _status(port)
        if got == status:
            return got
        await asyncio.sleep(0.05)
    return got


async def test_health_is_not_serving_while_starting_or_cut_off_from_redis_or_draining(tmp_path):
    redis_proc = LocalRedis(tmp_path / "redis").start()
    client = redis_conn.connect(redis_proc.url)
    server, health, port = grpc_server.create_server([], NAMES, "127.0.0.1:0")
    await server.start()
    watch = RedisHealth(client, health, NAMES, interval=0.05, timeout=0.5)
    try:
        assert await _status(port) == health_pb2.HealthCheckResponse.NOT_SERVING  # listening, not ready yet
        assert await watch.start() is True
        assert await _status(port) == health_pb2.HealthCheckResponse.SERVING

        redis_proc.stop()
        assert await _until(port, health_pb2.HealthCheckResponse.NOT_SERVING) == health_pb2.HealthCheckResponse.NOT_SERVING
        redis_proc.start()  # same port: the service recovers by itself
        assert await _until(port, health_pb2.HealthCheckResponse.SERVING) == health_pb2.HealthCheckResponse.SERVING

        await health.enter_graceful_shutdown()  # draining wins over a healthy Redis
        await asyncio.sleep(0.2)
        assert await _status(port) == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        await watch.aclose()
        await server.stop(0)
        await client.aclose()
        redis_proc.stop()
