"""Admin API for hard budgets of keys, agents and workspaces (master key only), over the meter's SetBudget.

- `PUT /api/v1/budgets/{kind}/{id}` `{"workspace", "period": "day|week|month", "budget_usd": 12.5 | 0 | null}`:
  a number sets the budget (0: nothing may be spent, every request is refused); null removes it
  (unlimited). For a workspace budget, `id` is the workspace. A key's own budget can also be set on
  the key (`budget_usd` of `/api/v1/keys`), which applies on top of these.
- `GET /api/v1/budgets?workspace=`: budgets with what is spent and reserved in their current period.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import grpc
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.edge.errors import json_error, rpc_error_response
from services.edge.middleware import id_headers, require_master
from services.edge.translate import describe
from services.edge.usage_api import usd
from services.meter.convert import KIND_ENUM, KINDS, PERIOD_ENUM, PERIODS
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

_ID = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._\-]+$")]


class BudgetPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace: _ID
    period: Literal["day", "week", "month"] = "month"
    budget_usd: Annotated[Decimal, Field(ge=0, le=1_000_000_000, decimal_places=6)] | None
    """Required: a number (0 allows nothing) or null (no budget)."""


def _json(b: meter_pb2.Budget, removed: bool = False) -> dict:
    limit = None if removed else b.limit_micros
    return {"object": "budget", "kind": KINDS[b.kind], "id": b.id, "workspace": b.workspace,
            "period": PERIODS[b.period], "budget_micros": limit, "budget_usd": None if limit is None else usd(limit),
            "spent_micros": b.spent_micros, "reserved_micros": b.reserved_micros}


class BudgetsHandler:
    def __init__(self, meter: meter_pb2_grpc.MeterServiceStub, timeout: float = 10.0) -> None:
        self._meter = meter
        self._timeout = timeout

    async def put(self, request: web.Request) -> web.Response:
        if (denied := require_master(request)) is not None:
            return denied
        kind, sid = request.match_info["kind"], request.match_info["id"]
        if kind not in KIND_ENUM:
            return json_error(400, "The budget kind must be key, agent or workspace.", param="kind",
                              code="invalid_value")
        try:
            body = BudgetPut.model_validate_json(await request.read())
        except ValidationError as exc:
            message, param, code = describe(exc)
            return json_error(400, message, param=param, code=code)
        if kind == "workspace" and sid != body.workspace:
            return json_error(400, "A workspace budget's id is its workspace.", param="workspace", code="invalid_value")
        limit = 0 if body.budget_usd is None else int(body.budget_usd * 1_000_000)
        budget = meter_pb2.Budget(kind=KIND_ENUM[kind], id=sid, workspace=body.workspace,
                                  period=PERIOD_ENUM[body.period], limit_micros=limit)
        try:
            await self._meter.SetBudget(meter_pb2.SetBudgetRequest(budget=budget, remove=body.budget_usd is None),
                                        timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, id_headers(request))
        return web.json_response(_json(budget, removed=body.budget_usd is None))

    async def list(self, request: web.Request) -> web.Response:
        if (denied := require_master(request)) is not None:
            return denied
        try:
            resp = await self._meter.ListBudgets(meter_pb2.ListBudgetsRequest(
                workspace=request.query.get("workspace", "")), timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, id_headers(request))
        return web.json_response({"object": "list", "data": [_json(b) for b in resp.budgets]})
