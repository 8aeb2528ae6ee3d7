"""Budgets and tiers before a call: the meter's Admit RPC, asked only when it can matter.

The master key with a plain model name never pays this hop. A virtual key always does (its key,
agent or workspace may have a budget stored in the meter; its tier may apply), and so does any
request for `tier/<name>`. If the meter cannot be reached, a caller whose key carries its own budget is
refused (503: a hard budget must not be bypassed by an outage); anyone else is served unmetered-ahead
(the router still records usage, spooled until the meter is back).
"""
from __future__ import annotations

import asyncio

import grpc
import structlog

from services.edge.auth import Principal
from services.edge.dialects.base import Parsed
from services.edge.errors import from_rpc_error
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

log = structlog.get_logger()
_PERIODS = {"day": meter_pb2.PERIOD_DAY, "week": meter_pb2.PERIOD_WEEK, "month": meter_pb2.PERIOD_MONTH}
_UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class Admission:
    def __init__(self, meter: meter_pb2_grpc.MeterServiceStub, timeout: float = 2.0) -> None:
        self._meter = meter
        self._timeout = timeout
        self._background: set[asyncio.Task] = set()

    @staticmethod
    def needed(principal: Principal, model: str) -> bool:
        return not principal.is_master or model.startswith("tier/")

    async def admit(self, principal: Principal, parsed: Parsed) -> meter_pb2.AdmitResponse | tuple[int, dict, dict]:
        """The meter's decision, or (HTTP status, OpenAI error, headers) when the call must not go ahead."""
        req = parsed.request
        admit = meter_pb2.AdmitRequest(caller=req.caller, request_id=req.request_id, model=req.model,
                                       prompt_tokens=parsed.estimated_tokens - self._max_tokens(req),
                                       max_tokens=self._max_tokens(req))
        record = principal.record
        if record is not None and record.budget_micros:
            admit.budgets.add(kind=meter_pb2.SUBJECT_KIND_KEY, id=record.key_id, workspace=record.workspace,
                              period=_PERIODS.get(record.budget_period, meter_pb2.PERIOD_MONTH),
                              limit_micros=record.budget_micros)
        try:
            return await self._meter.Admit(admit, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            if err.code() in _UNREACHABLE and not admit.budgets and not req.model.startswith("tier/"):
                log.warning("meter_unreachable_admitting_unchecked", request_id=req.request_id)
                return meter_pb2.AdmitResponse(model=req.model, remaining_micros=-1)
            status, body, headers = from_rpc_error(err)
            return status, body["error"], headers

    def release(self, request_id: str, workspace: str) -> None:
        """Gives back a reservation whose call never reached the router (off the response path)."""
        async def run() -> None:
            try:
                await self._meter.Release(meter_pb2.ReleaseRequest(request_id=request_id, workspace=workspace),
                                          timeout=self._timeout)
            except grpc.aio.AioRpcError as err:
                log.warning("budget_release_failed", request_id=request_id, error=err.code().name)

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    def _max_tokens(req) -> int:
        if req.HasField("max_completion_tokens"):
            return req.max_completion_tokens
        return req.max_tokens if req.HasField("max_tokens") else 0
