"""MeterService over gRPC: proto <-> ledger; Redis failures become UNAVAILABLE so senders retry."""
from __future__ import annotations

import time

import grpc
import redis.exceptions
import structlog

from services.meter.ledger import METRICS, Ledger
from services.meter.periods import day_of, period_range
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

log = structlog.get_logger()
_PERIODS = {meter_pb2.PERIOD_DAY: "day", meter_pb2.PERIOD_WEEK: "week", meter_pb2.PERIOD_MONTH: "month"}


class MeterServicer(meter_pb2_grpc.MeterServiceServicer):
    def __init__(self, ledger: Ledger, clock=time.time) -> None:
        self._ledger = ledger
        self._clock = clock

    async def RecordUsage(self, request: meter_pb2.RecordUsageRequest, context: grpc.aio.ServicerContext):
        for r in request.records:
            if not r.request_id:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "every record needs a request_id")
        try:
            applied, dupes = await self._ledger.apply(list(request.records))
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            log.warning("meter_redis_unavailable", error=str(exc))
            await context.abort(grpc.StatusCode.UNAVAILABLE, "usage store unavailable; retry")
        if dupes:
            log.info("usage_duplicates_ignored", count=dupes)
        return meter_pb2.RecordUsageResponse(recorded=applied, duplicates=dupes)

    async def GetUsage(self, request: meter_pb2.GetUsageRequest, context: grpc.aio.ServicerContext):
        period = _PERIODS.get(request.period)
        if period is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "period must be day, week or month")
        start, end = period_range(period, day_of(request.at_ms or int(self._clock() * 1000)))
        try:
            totals = await self._ledger.totals(start, end, request.key_id)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            await context.abort(grpc.StatusCode.UNAVAILABLE, "usage store unavailable; retry")
        return meter_pb2.GetUsageResponse(
            period=request.period, start_date=start.isoformat(), end_date=end.isoformat(),
            totals=meter_pb2.UsageTotals(**totals.values),
            by_model=[meter_pb2.ModelUsage(model=m, totals=meter_pb2.UsageTotals(**{k: v[k] for k in METRICS}))
                      for m, v in sorted(totals.by_model.items())])
