"""MeterService over gRPC: proto <-> domain; Redis failures become UNAVAILABLE so senders retry."""
from __future__ import annotations

import functools
import time

import grpc
from services.common import redis_conn
import structlog

from services.common.errors import GatewayError, invalid
from services.meter import convert
from services.meter.admission import Admitter
from services.meter.budgets import BudgetStore
from services.meter.periods import day_of, month_of, period_range
from services.meter.recorder import Recorder
from services.meter.requestlog import rpc as request_log_rpc
from services.meter.requestlog.agent_health import AgentHealth
from services.meter.requestlog.log import RequestLog
from services.meter.tier_usage import TierUsage
from services.meter.tiers import TierBook
from services.meter.usage_query import UsageQuery
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

log = structlog.get_logger()
_REDIS_DOWN = redis_conn.UNAVAILABLE


def _guarded(method):
    """GatewayError -> its status and metadata; a Redis outage -> UNAVAILABLE (callers retry); a Redis that
    answers but can never accept the call -> FAILED_PRECONDITION (callers stop retrying)."""
    @functools.wraps(method)
    async def wrapper(self, request, context):
        try:
            return await method(self, request, context)
        except GatewayError as err:
            await err.abort(context)
        except _REDIS_DOWN as exc:
            log.warning("meter_redis_unavailable", rpc=method.__name__, error=str(exc))
            await context.abort(grpc.StatusCode.UNAVAILABLE, "usage store unavailable; retry")
        except redis_conn.MISCONFIGURED as exc:  # MOVED from a Cluster node the meter reached without a cluster URL
            log.error("meter_redis_misconfigured", rpc=method.__name__, error=type(exc).__name__)
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                "usage store misconfigured (a Redis Cluster needs a redis+cluster:// REDIS_URL)")
    return wrapper


def _one_subject(request: meter_pb2.GetUsageRequest) -> tuple[str, str]:
    given = [(k, v) for k, v in (("key", request.key_id), ("agent", request.agent_id), ("user", request.user),
                                 ("session", request.session_id)) if v]
    if len(given) > 1:
        raise invalid("Filter by at most one of key_id, agent_id, user, session_id.", given[1][0])
    return given[0] if given else ("", "")


_MAX_SKEW_MS = 86_400_000


def _check_record(r: meter_pb2.UsageRecord, now_ms: int) -> None:
    """Refuses values no router produces (negative tokens, times outside the calendar), which would
    otherwise corrupt totals or crash the date arithmetic."""
    u = r.usage
    if min(u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cached_tokens, r.latency_ms, r.ttft_ms) < 0:
        raise invalid(f"record {r.request_id}: token counts and durations must not be negative", "usage")
    if not 0 <= r.started_at_ms <= now_ms + _MAX_SKEW_MS:
        raise invalid(f"record {r.request_id}: started_at_ms must be a Unix time in ms, not in the future",
                      "started_at_ms")


class MeterServicer(meter_pb2_grpc.MeterServiceServicer):
    def __init__(self, recorder: Recorder, query: UsageQuery, admitter: Admitter, budgets: BudgetStore,
                 tiers: TierBook, tier_usage: TierUsage, request_log: RequestLog | None = None,
                 agent_health: AgentHealth | None = None, clock=time.time) -> None:
        self._request_log = request_log
        self._agent_health = agent_health
        self._recorder = recorder
        self._query = query
        self._admitter = admitter
        self._budgets = budgets
        self._tiers = tiers
        self._tier_usage = tier_usage
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _period(self, period_enum: int, at_ms: int):
        period = convert.PERIODS.get(period_enum)
        if period is None:
            raise invalid("period must be day, week or month", "period")
        return (period, *period_range(period, day_of(at_ms or self._now_ms())))

    @_guarded
    async def RecordUsage(self, request: meter_pb2.RecordUsageRequest, context):
        if any(not r.request_id for r in request.records):
            raise invalid("every record needs a request_id", "request_id")
        for r in request.records:
            _check_record(r, self._now_ms())
        result = await self._recorder.record(list(request.records))
        if result.duplicates:
            log.info("usage_duplicates_ignored", count=result.duplicates)
        return meter_pb2.RecordUsageResponse(recorded=result.applied, duplicates=result.duplicates)

    @_guarded
    async def GetUsage(self, request: meter_pb2.GetUsageRequest, context):
        _, start, end = self._period(request.period, request.at_ms)
        kind, value = _one_subject(request)
        report = await self._query.usage(start, end, request.workspace or None, kind, value)
        return meter_pb2.GetUsageResponse(period=request.period, start_date=start.isoformat(),
                                          end_date=end.isoformat(), **convert.report_fields(report))

    @_guarded
    async def GetUsageSummary(self, request: meter_pb2.GetUsageSummaryRequest, context):
        _, start, end = self._period(request.period, request.at_ms)
        if request.breakdown_limit < 0 or request.breakdown_offset < 0:
            raise invalid("breakdown_limit and breakdown_offset must be >= 0", "breakdown_limit")
        s = await self._query.summary(start, end, request.workspace or None)
        lists = {kind: convert.subjects(items) for kind, items in s.by_subject.items()}
        lists["deployment"] = convert.subjects(convert.as_totals(s.report.totals.by_deployment))
        first = request.breakdown_offset
        last = first + request.breakdown_limit if request.breakdown_limit else None
        return meter_pb2.GetUsageSummaryResponse(
            period=request.period, start_date=start.isoformat(), end_date=end.isoformat(),
            **convert.report_fields(s.report), **{f"by_{k}": v[first:last] for k, v in lists.items()},
            breakdown_sizes={k: len(v) for k, v in lists.items()})

    @_guarded
    async def Admit(self, request: meter_pb2.AdmitRequest, context):
        if not request.request_id:
            raise invalid("request_id is required (the same id the router will record)", "request_id")
        if request.prompt_tokens < 0 or request.max_tokens < 0:
            raise invalid("prompt_tokens and max_tokens must be >= 0", "max_tokens")
        return await self._admitter.admit(request, self._now_ms())

    @_guarded
    async def Release(self, request: meter_pb2.ReleaseRequest, context):
        if not request.request_id:
            raise invalid("request_id is required", "request_id")
        return meter_pb2.ReleaseResponse(released_micros=await self._budgets.release(
            request.workspace, request.key_id, request.request_id))

    @_guarded
    async def SetBudget(self, request: meter_pb2.SetBudgetRequest, context):
        b = request.budget
        kind, period = convert.KINDS.get(b.kind), convert.PERIODS.get(b.period)
        if kind is None or period is None:
            raise invalid("budget.kind and budget.period are required", "budget")
        if not b.id or (kind == "workspace" and b.id != b.workspace):
            raise invalid("budget.id is required (for a workspace budget, equal to budget.workspace)", "budget.id")
        if b.limit_micros < 0:
            raise invalid("budget.limit_micros must be >= 0 (0: nothing may be spent; `remove` removes it)",
                          "budget.limit_micros")
        limit = None if request.remove else b.limit_micros
        await self._budgets.set_limit(b.workspace, kind, b.id, period, limit)
        log.info("budget_set", kind=kind, id=b.id, workspace=b.workspace, period=period, limit_micros=limit)
        return meter_pb2.SetBudgetResponse(budget=b)

    @_guarded
    async def ListBudgets(self, request: meter_pb2.ListBudgetsRequest, context):
        at = day_of(request.at_ms or self._now_ms())
        names = [request.workspace] if request.workspace else await self._budgets.workspaces()
        out = []
        for ws in names:
            for b in await self._budgets.list(ws, at):
                out.append(meter_pb2.Budget(kind=convert.KIND_ENUM[b["kind"]], id=b["id"], workspace=ws,
                                            period=convert.PERIOD_ENUM[b["period"]], limit_micros=b["limit_micros"],
                                            spent_micros=b["spent_micros"], reserved_micros=b["reserved_micros"]))
        return meter_pb2.ListBudgetsResponse(budgets=out)

    @_guarded
    async def GetTiers(self, request: meter_pb2.GetTiersRequest, context):
        month = month_of(day_of(request.at_ms or self._now_ms()))
        subjects, overages = await self._tier_usage.report(month, request.workspace or None)
        return meter_pb2.GetTiersResponse(month=month, tiers=convert.tier_infos(self._tiers), subjects=subjects,
                                          overages=overages)

    def _log(self) -> RequestLog:
        if self._request_log is None:
            raise GatewayError(grpc.StatusCode.UNIMPLEMENTED, "this meter keeps no request log", "api_error",
                               "request_log_disabled", 501)
        return self._request_log

    async def _store_call(self, context, coro):
        """The store is best effort: its failure is UNAVAILABLE for the explorer, never anything else."""
        try:
            return await coro
        except Exception as exc:
            log.warning("request_log_query_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the request log store is unavailable; retry")

    @_guarded
    async def ListRequestLog(self, request: meter_pb2.ListRequestLogRequest, context):
        f = request_log_rpc.filter_of(request)
        entries, cursor = await self._store_call(context, self._log().list(f))
        return meter_pb2.ListRequestLogResponse(entries=entries, next_cursor=cursor)

    @_guarded
    async def GetRequestLog(self, request: meter_pb2.GetRequestLogRequest, context):
        if not request.request_id:
            raise invalid("request_id is required", "request_id")
        entry = await self._store_call(context, self._log().get(request.request_id, request.workspace))
        if entry is None:
            raise GatewayError(grpc.StatusCode.NOT_FOUND, f"No request `{request.request_id}`.",
                               "invalid_request_error", "request_not_found", 404, "request_id")
        return meter_pb2.GetRequestLogResponse(entry=entry)

    @_guarded
    async def GetRequestLogStatus(self, request, context):
        return request_log_rpc.status_of(self._log().writer.status())

    @_guarded
    async def GetAgentRequestHealth(self, request: meter_pb2.GetAgentRequestHealthRequest, context):
        if self._agent_health is None:
            self._log()  # UNIMPLEMENTED: no request log, no agent health
        return await self._store_call(context, self._agent_health.report(request.agent_id, request.workspace))
