"""A real meter gRPC server on port 0 over the test Redis, with the prices and tiers a test gives."""
from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import grpc

from services.common.pricing import PriceBook
from services.meter.config import MeterConfig
from services.meter.requestlog.settings import RequestLogSettings
from services.meter.server import create_server
from services.meter.tiers import TierBook
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

PRICES = {"models": {"gpt-4o": {"input": 2.50, "output": 10.00, "cached_input": 1.25},
                     "gpt-4o-mini": {"input": 0.15, "output": 0.60},
                     "MiniMax-M2.5": {"input": 0.30, "output": 1.20},
                     "fake-priced": {"input": 1, "output": 2},
                     "free-model": {"input": 0, "output": 0}}}  # declared free (an unpriced model is not)


def ms(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


@contextlib.asynccontextmanager
async def running_meter(redis_url: str, tiers: dict | None = None, **settings):
    """The request log goes to a fresh SQLite file per meter unless `request_log=` says otherwise."""
    with tempfile.TemporaryDirectory() as tmp:
        settings.setdefault("request_log", RequestLogSettings(path=Path(tmp) / "requests.db", linger=0))
        cfg = MeterConfig(redis_url=redis_url, listen="127.0.0.1:0", pricing=PriceBook.from_config(PRICES),
                          tiers=TierBook.from_config(tiers), **settings)
        app = create_server(cfg)
        await app.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
        try:
            yield meter_pb2_grpc.MeterServiceStub(channel)
        finally:
            await channel.close()
            await app.stop(0)


def record(rid: str, *, at_ms: int, model: str = "gpt-4o", prompt: int = 100, completion: int = 50, cached: int = 0,
           deployment: str = "openai", status: str = "ok", **caller) -> meter_pb2.UsageRecord:
    return meter_pb2.UsageRecord(
        request_id=rid, caller=common_pb2.Caller(**caller), model=model, deployment=deployment,
        usage=common_pb2.Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                               cached_tokens=cached), status=status, started_at_ms=at_ms)


def metadata_of(err: grpc.aio.AioRpcError) -> dict[str, str]:
    return dict(err.trailing_metadata() or ())


async def wait_for_request_log(meter, request_id: str, timeout: float = 10.0) -> meter_pb2.GetRequestLogResponse:
    """The request log writes off the RecordUsage path: poll until the row is there."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await meter.GetRequestLog(meter_pb2.GetRequestLogRequest(request_id=request_id))
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.NOT_FOUND or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.02)
