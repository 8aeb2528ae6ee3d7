"""Usage endpoints, JSON or CSV (`?format=csv`), each scoped to what the caller may see.

- `GET /api/v1/usage?period=&key_id=|agent_id=|user=|session_id=&workspace=`: totals, by model, by date
- `GET /api/v1/agents/{id}/usage?period=`: one agent
- `GET /api/v1/usage/summary?period=month`: everything, with by-workspace/key/agent/user/session/deployment
  breakdowns read from per-day aggregates (never from per-request records), each a page of `limit`
  (default 100) dearest first; `by=key&cursor=` pages through one breakdown (`next_cursors`)
- `GET /api/v1/usage/tiers`: tier definitions, this month's use per tier subject, overages

The master key sees everything (and may narrow with `workspace=`); a virtual key sees only its own
workspace, and asking for another one is 403, so no handler can leak across workspaces by accident.
Money is integer micro-dollars (`cost_micros`) plus an exact decimal string (`cost_usd`). `requests`
counts each client request once; `attempts` (upstream calls, retries and hedges included) and `hedges`
are its detail, and a losing hedge's tokens and cost are in the totals (its upstream billed them).
"""
from __future__ import annotations

import base64
import csv
import io

import grpc
from aiohttp import web

from services.edge.errors import json_error, rpc_error_response
from services.edge.middleware import PRINCIPAL, id_headers
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

PERIODS = {"day": meter_pb2.PERIOD_DAY, "week": meter_pb2.PERIOD_WEEK, "month": meter_pb2.PERIOD_MONTH}
_POLICIES = {meter_pb2.OVERAGE_POLICY_LOG: "log", meter_pb2.OVERAGE_POLICY_DEGRADE: "degrade",
             meter_pb2.OVERAGE_POLICY_BLOCK: "block"}
_CSV_FIELDS = ("date", "model", "requests", "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens",
               "cost_micros", "cost_usd", "errors", "attempts", "hedges", "unknown_cost_requests",
               "estimated_tokens")
_FILTERS = ("key_id", "agent_id", "user", "session_id")


def usd(micros: int) -> str:
    sign, m = ("-", -micros) if micros < 0 else ("", micros)
    return f"{sign}{m // 1_000_000}.{m % 1_000_000:06d}"


def _totals(t: meter_pb2.UsageTotals) -> dict:
    return {"requests": t.requests, "prompt_tokens": t.prompt_tokens, "completion_tokens": t.completion_tokens,
            "total_tokens": t.total_tokens, "cached_tokens": t.cached_tokens, "cost_micros": t.cost_micros,
            "cost_usd": usd(t.cost_micros), "errors": t.errors, "attempts": t.attempts, "hedges": t.hedges,
            # Requests of models with no known price: their cost is not in cost_usd (it is unknown, not 0).
            "unknown_cost_requests": t.unknown_cost_requests,
            "estimated_tokens": t.estimated_tokens}


def _report(resp, period: str) -> dict:
    return {"period": period, "start_date": resp.start_date, "end_date": resp.end_date,
            "totals": _totals(resp.totals),
            "by_model": [{"model": m.model, **_totals(m.totals)} for m in resp.by_model],
            "by_date": [{"date": d.date, **_totals(d.totals),
                         "by_model": [{"model": m.model, **_totals(m.totals)} for m in d.by_model]}
                        for d in resp.by_date]}


def _csv(resp, filename: str) -> web.Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for d in resp.by_date:
        for m in d.by_model:
            writer.writerow({"date": d.date, "model": m.model, **_totals(m.totals)})
    return web.Response(text=out.getvalue(), content_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


BREAKDOWNS = ("workspace", "key", "agent", "user", "session", "deployment")
DEFAULT_BREAKDOWN_LIMIT = 100


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def breakdown_page(query) -> tuple[tuple[int, int, str], web.Response | None]:
    """(limit, offset, the one breakdown asked for or "") from `limit`, `cursor` and `by`: a summary's
    breakdowns are pages (dearest first), so its size no longer grows with the number of subjects."""
    only = query.get("by", "")
    if only and only not in BREAKDOWNS:
        return (0, 0, ""), json_error(400, f"`by` must be one of {', '.join(BREAKDOWNS)}.", param="by",
                                      code="invalid_value")
    raw = query.get("limit", str(DEFAULT_BREAKDOWN_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        return (0, 0, ""), json_error(400, "`limit` must be an integer from 1 to 500.", param="limit",
                                      code="invalid_value")
    offset = 0
    if query.get("cursor"):
        try:
            tag, _, n = base64.urlsafe_b64decode(query["cursor"] + "=" * (-len(query["cursor"]) % 4)).decode().partition(":")
            offset = int(n) if tag == "o" else -1
        except (ValueError, UnicodeDecodeError):
            offset = -1
        if offset < 0:
            return (0, 0, ""), json_error(400, "`cursor` is not one this API returned.", param="cursor",
                                          code="invalid_value")
    return (int(raw), offset, only), None


class UsageHandler:
    def __init__(self, meter: meter_pb2_grpc.MeterServiceStub, timeout: float = 10.0) -> None:
        self._meter = meter
        self._timeout = timeout

    @staticmethod
    def _scope(request: web.Request) -> tuple[str | None, web.Response | None]:
        """(workspace to restrict to, or "" for all; a 403 response when the caller may not ask that)."""
        principal, asked = request[PRINCIPAL], request.query.get("workspace", "")
        if principal.is_master:
            return asked, None
        own = principal.caller.workspace
        if not own or (asked and asked != own):
            return None, json_error(403, "This key may only read its own workspace's usage.", code="forbidden",
                                    param="workspace")
        return own, None

    @staticmethod
    def _period_and_format(request: web.Request, default: str) -> tuple[str, str, web.Response | None]:
        period, fmt = request.query.get("period", default), request.query.get("format", "json")
        if period not in PERIODS:
            return period, fmt, json_error(400, "`period` must be one of day, week, month.", param="period",
                                           code="invalid_value")
        if fmt not in ("json", "csv"):
            return period, fmt, json_error(400, "`format` must be json or csv.", param="format", code="invalid_value")
        return period, fmt, None

    async def _call(self, request: web.Request, rpc, message):
        try:
            return await rpc(message, timeout=self._timeout), None
        except grpc.aio.AioRpcError as err:
            return None, rpc_error_response(err, id_headers(request))

    async def get(self, request: web.Request) -> web.Response:
        return await self._usage(request, {f: request.query.get(f, "") for f in _FILTERS})

    async def agent(self, request: web.Request) -> web.Response:
        return await self._usage(request, {"agent_id": request.match_info["agent_id"]})

    async def _usage(self, request: web.Request, filters: dict[str, str]) -> web.Response:
        period, fmt, bad = self._period_and_format(request, "day")
        workspace, denied = self._scope(request)
        if bad or denied:
            return bad or denied
        resp, err = await self._call(request, self._meter.GetUsage, meter_pb2.GetUsageRequest(
            period=PERIODS[period], workspace=workspace, **filters))
        if err:
            return err
        if fmt == "csv":
            return _csv(resp, f"usage-{period}-{resp.start_date}.csv")
        given = {k: v for k, v in filters.items() if v}
        return web.json_response({"object": "usage", "workspace": workspace or None, "filter": given,
                                  **_report(resp, period)})

    async def summary(self, request: web.Request) -> web.Response:
        period, fmt, bad = self._period_and_format(request, "month")
        workspace, denied = self._scope(request)
        if bad or denied:
            return bad or denied
        page, bad = breakdown_page(request.query)
        if bad:
            return bad
        limit, offset, only = page
        resp, err = await self._call(request, self._meter.GetUsageSummary, meter_pb2.GetUsageSummaryRequest(
            period=PERIODS[period], workspace=workspace, breakdown_limit=limit, breakdown_offset=offset))
        if err:
            return err
        if fmt == "csv":
            return _csv(resp, f"usage-summary-{period}-{resp.start_date}.csv")
        body = {"object": "usage.summary", "workspace": workspace or None, **_report(resp, period)}
        cursors = {}
        for kind in BREAKDOWNS:
            if (kind == "workspace" and workspace) or (only and kind != only):
                continue
            body[f"by_{kind}"] = [{"id": s.id, **_totals(s.totals)} for s in getattr(resp, f"by_{kind}")]
            more = offset + limit < resp.breakdown_sizes.get(kind, 0)
            cursors[f"by_{kind}"] = encode_offset(offset + limit) if more else None
        body["next_cursors"] = cursors
        return web.json_response(body)

    async def tiers(self, request: web.Request) -> web.Response:
        workspace, denied = self._scope(request)
        if denied:
            return denied
        resp, err = await self._call(request, self._meter.GetTiers, meter_pb2.GetTiersRequest(workspace=workspace))
        if err:
            return err
        return web.json_response({
            "object": "usage.tiers", "month": resp.month, "workspace": workspace or None,
            "tiers": [{"name": t.name, "model": t.model, "monthly_tokens": t.monthly_tokens,
                       "price_usd": usd(t.price_micros), "overage_policy": _POLICIES.get(t.overage_policy, "log"),
                       "degrade_to": t.degrade_to or None} for t in resp.tiers],
            "subjects": [{"tier": s.tier, "subject": s.subject, "workspace": s.workspace,
                          "tokens_used": s.tokens_used, "tokens_over": s.tokens_over,
                          "overage_cost_micros": s.overage_cost_micros, "overage_cost_usd": usd(s.overage_cost_micros)}
                         for s in resp.subjects],
            "overages": [{"request_id": o.request_id, "tier": o.tier, "subject": o.subject, "workspace": o.workspace,
                          "tokens_over": o.tokens_over, "cost_micros": o.cost_micros, "at_ms": o.at_ms}
                         for o in resp.overages],
        })
