"""GET /api/v1/usage?period=day|week|month: totals and a by-model breakdown from the meter."""
from __future__ import annotations

import grpc
from aiohttp import web

from services.edge.errors import json_error, rpc_error_response
from services.edge.middleware import REQUEST_ID
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

PERIODS = {"day": meter_pb2.PERIOD_DAY, "week": meter_pb2.PERIOD_WEEK, "month": meter_pb2.PERIOD_MONTH}


def _totals(t: meter_pb2.UsageTotals) -> dict:
    return {"requests": t.requests, "prompt_tokens": t.prompt_tokens, "completion_tokens": t.completion_tokens,
            "total_tokens": t.total_tokens, "errors": t.errors}


class UsageHandler:
    def __init__(self, meter: meter_pb2_grpc.MeterServiceStub) -> None:
        self._meter = meter

    async def get(self, request: web.Request) -> web.Response:
        period = request.query.get("period", "day")
        if period not in PERIODS:
            return json_error(400, "`period` must be one of day, week, month.", param="period", code="invalid_value")
        try:
            usage = await self._meter.GetUsage(
                meter_pb2.GetUsageRequest(period=PERIODS[period], key_id=request.query.get("key_id", "")), timeout=10)
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, {"x-request-id": request[REQUEST_ID]})
        return web.json_response({
            "object": "usage", "period": period, "start_date": usage.start_date, "end_date": usage.end_date,
            "totals": _totals(usage.totals),
            "by_model": [{"model": m.model, **_totals(m.totals)} for m in usage.by_model],
        })
