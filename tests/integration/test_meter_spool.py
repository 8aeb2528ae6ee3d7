"""The router's usage reporter: records survive a meter outage and a router restart during it (disk spool)."""
from __future__ import annotations

import asyncio

import grpc

from services.common.redis_server import free_port
from services.router.usage_reporter import UsageReporter
from tests.integration.meter_support import record
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc


class FakeMeter(meter_pb2_grpc.MeterServiceServicer):
    """Keeps what it is sent; counts each request id once, like the real meter."""

    def __init__(self) -> None:
        self.seen: dict[str, meter_pb2.UsageRecord] = {}
        self.deliveries = 0

    async def RecordUsage(self, request, context):
        self.deliveries += len(request.records)
        for r in request.records:
            self.seen.setdefault(r.request_id, r)
        return meter_pb2.RecordUsageResponse(recorded=len(request.records))


async def serve(meter: FakeMeter, port: int) -> grpc.aio.Server:
    server = grpc.aio.server()
    meter_pb2_grpc.add_MeterServiceServicer_to_server(meter, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_records_outlive_a_router_restart_while_the_meter_is_down(tmp_path):
    port = free_port()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")   # nobody listens yet: the meter is down
    first = UsageReporter(meter_pb2_grpc.MeterServiceStub(channel), rpc_timeout=0.3, spool_dir=tmp_path)
    first.start()
    for i in range(25):
        first.submit(record(f"r{i}", at_ms=1, key_id="k"))
    await wait_for(lambda: any(tmp_path.glob("*.spool")))
    first.submit(record("late", at_ms=1, key_id="k"))
    await first.close(timeout=0.2)                                # the router stops before the meter returns
    await channel.close()
    assert first.pending == 26

    meter = FakeMeter()
    server = await serve(meter, port)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    second = UsageReporter(meter_pb2_grpc.MeterServiceStub(channel), spool_dir=tmp_path)
    second.start()
    try:
        await wait_for(lambda: len(meter.seen) == 26)
        await wait_for(lambda: not list(tmp_path.glob("*.spool")))  # acknowledged: the spool is emptied
        assert sorted(meter.seen) == sorted([f"r{i}" for i in range(25)] + ["late"])
        assert second.pending == 0
    finally:
        await second.close()
        await channel.close()
        await server.stop(0)


async def test_a_meter_that_comes_back_gets_everything_queued_meanwhile(tmp_path):
    port = free_port()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    reporter = UsageReporter(meter_pb2_grpc.MeterServiceStub(channel), rpc_timeout=0.3, spool_dir=tmp_path)
    reporter.start()
    for i in range(10):
        reporter.submit(record(f"q{i}", at_ms=1))
    await asyncio.sleep(0.5)
    meter = FakeMeter()
    server = await serve(meter, port)
    try:
        # The meter sees the records before the reporter hears back: wait for both, then check nothing
        # arrived twice.
        await wait_for(lambda: len(meter.seen) >= 10 and reporter.pending == 0)
        assert len(meter.seen) == 10
    finally:
        await reporter.close()
        await channel.close()
        await server.stop(0)


class RefusingMeter(FakeMeter):
    """A meter whose Redis is a Cluster it reaches without a cluster URL: every batch is refused the same way."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def RecordUsage(self, request, context):
        self.calls += 1
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "usage store misconfigured")


async def test_a_refused_batch_is_parked_for_the_next_start_not_retried_forever(tmp_path):
    refusing = RefusingMeter()
    port = free_port()
    server = await serve(refusing, port)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    reporter = UsageReporter(meter_pb2_grpc.MeterServiceStub(channel), rpc_timeout=1.0, spool_dir=tmp_path, linger=0)
    reporter.start()
    try:
        for i in range(5):
            reporter.submit(record(f"p{i}", at_ms=1, key_id="k"))
        await wait_for(lambda: reporter.pending == 0)
        calls = refusing.calls
        reporter.submit(record("after", at_ms=1, key_id="k"))     # the queue keeps moving
        await wait_for(lambda: reporter.pending == 0)
        assert refusing.calls == calls + 1                        # each batch asked once, none re-sent
        assert any(p.stat().st_size for p in tmp_path.glob("*.spool"))  # kept in the journal, not dropped
    finally:
        await reporter.close()
        await channel.close()
        await server.stop(0)

    meter = FakeMeter()                                           # the configuration is fixed, the router restarts
    server = await serve(meter, port)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    second = UsageReporter(meter_pb2_grpc.MeterServiceStub(channel), spool_dir=tmp_path)
    second.start()
    try:
        await wait_for(lambda: len(meter.seen) == 6)
        assert sorted(meter.seen) == sorted([f"p{i}" for i in range(5)] + ["after"])
    finally:
        await second.close()
        await channel.close()
        await server.stop(0)
