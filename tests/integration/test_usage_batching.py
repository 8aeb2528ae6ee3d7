"""The usage reporter batches: records of concurrent requests reach the meter in one RPC, each once."""
from __future__ import annotations

import asyncio

import grpc

from services.common.redis_server import free_port
from services.router.usage_reporter import UsageReporter
from tests.integration.meter_support import record
from tests.integration.test_meter_spool import FakeMeter, serve, wait_for
from tokenyard.meter.v1 import meter_pb2_grpc


class CountingMeter(FakeMeter):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def RecordUsage(self, request, context):
        self.calls += 1
        return await super().RecordUsage(request, context)


async def test_records_submitted_together_share_one_rpc(tmp_path):
    meter, port = CountingMeter(), free_port()
    server = await serve(meter, port)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    reporter = UsageReporter(meter_pb2_grpc.MeterServiceStub(channel), spool_dir=tmp_path, linger=0.05)
    reporter.start()
    try:
        reporter.submit(record("r0", at_ms=1))
        await asyncio.sleep(0.005)  # the reporter is lingering for more records
        for i in range(1, 6):
            reporter.submit(record(f"r{i}", at_ms=1))
        await wait_for(lambda: len(meter.seen) == 6)
        assert meter.calls == 1 and meter.deliveries == 6
    finally:
        await reporter.close()
        await channel.close()
        await server.stop(None)
