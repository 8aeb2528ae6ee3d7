"""`GET /api/v1/budgets`: hard budgets with what is spent and reserved in their current period (the console's
overview shows them). The master key sees every workspace (or `workspace=`); a virtual key its own."""
from __future__ import annotations

import grpc
from aiohttp import web

from services.edge.errors import json_error, rpc_error_response
from services.edge.middleware import PRINCIPAL, REQUEST_ID
from services.edge.usage_api import usd
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

_KINDS = {meter_pb2.SUBJECT_KIND_KEY: "key", meter_pb2.SUBJECT_KIND_AGENT: "agent",
          meter_pb2.SUBJECT_KIND_WORKSPACE: "workspace"}
_PERIODS = {meter_pb2.PERIOD_DAY: "day", meter_pb2.PERIOD_WEEK: "week", meter_pb2.PERIOD_MONTH: "month"}


class BudgetsHandler:
    def __init__(self, meter: meter_pb2_grpc.MeterServiceStub, timeout: float = 10.0) -> None:
        self._meter, self._timeout = meter, timeout

    async def list(self, request: web.Request) -> web.Response:
        principal, asked = request[PRINCIPAL], request.query.get("workspace", "")
        if not principal.is_master:
            if not principal.caller.workspace or (asked and asked != principal.caller.workspace):
                return json_error(403, "This key may only read its own workspace's budgets.", code="forbidden",
                                  param="workspace")
            asked = principal.caller.workspace
        try:
            r = await self._meter.ListBudgets(meter_pb2.ListBudgetsRequest(workspace=asked), timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, {"x-request-id": request[REQUEST_ID]})
        return web.json_response({"object": "list", "data": [
            {"kind": _KINDS.get(b.kind, ""), "id": b.id, "workspace": b.workspace, "period": _PERIODS.get(b.period, ""),
             "limit_usd": usd(b.limit_micros), "spent_usd": usd(b.spent_micros), "reserved_usd": usd(b.reserved_micros)}
            for b in r.budgets]})
