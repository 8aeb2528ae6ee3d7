"""Budgets and tiers before a call: the meter's Admit RPC, asked only when it can matter.

The master key with a plain model name never pays this hop. A virtual key always does (its key,
agent or workspace may have a budget stored in the meter; its tier may apply), and so does any
request for `tier/<name>` and every agent call (the agent, not the client, picks the model, so the
reservation is the worst case over every model of the agent and its fallbacks, held against the
budgets of the key, each agent that may answer, and the workspace).

Fail closed: if the meter cannot be reached, a request is refused (503) when any budget applies to
it: the key's own, or one stored for its agent(s) or workspace, which the edge reads from the
meter's Redis hash directly; when that read fails too, it is refused as well. Only a caller with no
budget at all is served unreserved (logged; the router still records its usage, spooled until the
meter is back).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
import redis.asyncio as redis
import redis.exceptions
import structlog

from services.edge.auth import Principal
from services.edge.dialects.base import Parsed
from services.edge.errors import from_rpc_error
from services.meter import keys as meter_keys
from services.meter.budgets import KINDS, PERIODS
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

log = structlog.get_logger()
_PERIODS = {"day": meter_pb2.PERIOD_DAY, "week": meter_pb2.PERIOD_WEEK, "month": meter_pb2.PERIOD_MONTH}
_UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


@dataclass(frozen=True)
class AgentPlan:
    """Who may answer an agent call and with what: the agent, its fallbacks, and every model they use."""

    agent_id: str
    workspace: str
    tier: str = ""
    fallbacks: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    preamble: tuple = ()
    """router Messages the runtime puts before the client's (the longest system prompt of the chain, the
    session's history): part of the prompt the reservation must cover."""
    tools_json: str = ""
    """The largest tool list of the chain, as JSON: the runtime offers it to the model."""


def _max_tokens(req) -> int:
    if req.HasField("max_completion_tokens"):
        return req.max_completion_tokens
    return req.max_tokens if req.HasField("max_tokens") else 0


def caller_for(principal: Principal, plan: AgentPlan | None) -> common_pb2.Caller:
    """The caller the router will record: for an agent call, the agent in its workspace."""
    caller = common_pb2.Caller()
    caller.CopyFrom(principal.caller)
    if plan is not None:
        caller.agent_id, caller.tier = plan.agent_id, plan.tier
        caller.workspace = plan.workspace or caller.workspace
    return caller


class Admission:
    def __init__(self, meter: meter_pb2_grpc.MeterServiceStub, client: redis.Redis | None = None,
                 timeout: float = 2.0) -> None:
        self._meter = meter
        self._redis = client
        self._timeout = timeout
        self._background: set[asyncio.Task] = set()

    @staticmethod
    def needed(principal: Principal, model: str) -> bool:
        return not principal.is_master or model.startswith("tier/")

    async def admit(self, principal: Principal, parsed: Parsed, plan: AgentPlan | None = None
                    ) -> meter_pb2.AdmitResponse | tuple[int, dict, dict]:
        """The meter's decision, or (HTTP status, OpenAI error, headers) when the call must not go ahead."""
        req = parsed.request
        out = _max_tokens(req)
        admit = meter_pb2.AdmitRequest(caller=caller_for(principal, plan), request_id=req.request_id,
                                       model=plan.models[0] if plan and plan.models else req.model,
                                       prompt_tokens=max(0, parsed.estimated_tokens - out), max_tokens=out)
        if plan is not None:
            admit.fallback_agent_ids.extend(plan.fallbacks)
            admit.candidate_models.extend(plan.models)
        record = principal.record
        if record is not None and record.budget_micros is not None:
            admit.budgets.add(kind=meter_pb2.SUBJECT_KIND_KEY, id=record.key_id, workspace=record.workspace,
                              period=_PERIODS.get(record.budget_period, meter_pb2.PERIOD_MONTH),
                              limit_micros=record.budget_micros)
        try:
            return await self._meter.Admit(admit, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            if err.code() in _UNREACHABLE and not admit.model.startswith("tier/") and not await self._budgeted(admit):
                log.warning("meter_unreachable_admitting_unbudgeted", request_id=req.request_id,
                            key_id=admit.caller.key_id, agent_id=admit.caller.agent_id,
                            workspace=admit.caller.workspace)
                return meter_pb2.AdmitResponse(model=req.model, remaining_micros=-1)
            if err.code() in _UNREACHABLE:
                log.warning("meter_unreachable_refusing_budgeted", request_id=req.request_id,
                            key_id=admit.caller.key_id, agent_id=admit.caller.agent_id,
                            workspace=admit.caller.workspace)
                return 503, {"message": "Budgets cannot be checked right now; retry shortly.",
                             "type": "service_unavailable", "param": None, "code": "budget_unavailable"}, \
                    {"Retry-After": "1"}
            status, body, headers = from_rpc_error(err)
            return status, body["error"], headers

    async def _budgeted(self, admit: meter_pb2.AdmitRequest) -> bool:
        """True when any budget applies to the caller, or when that cannot be known (fail closed)."""
        if admit.budgets:
            return True
        if self._redis is None:
            return True
        c = admit.caller
        subjects = [("key", c.key_id), ("agent", c.agent_id), *(("agent", a) for a in admit.fallback_agent_ids),
                    ("workspace", c.workspace)]
        fields = [meter_keys.budget_field(kind, sid, period) for kind, sid in subjects if sid and kind in KINDS
                  for period in PERIODS]
        if not fields:
            return False
        try:
            found = await self._redis.hmget(meter_keys.budgets_key(c.workspace), fields)
        except _REDIS_DOWN:
            return True
        return any(v is not None for v in found)

    def release(self, request_id: str, workspace: str, key_id: str) -> None:
        """Gives back a reservation whose call never reached the router (off the response path)."""
        async def run() -> None:
            try:
                await self._meter.Release(meter_pb2.ReleaseRequest(request_id=request_id, workspace=workspace,
                                                                   key_id=key_id), timeout=self._timeout)
            except grpc.aio.AioRpcError as err:
                log.warning("budget_release_failed", request_id=request_id, error=err.code().name)

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
