"""The request explorer (contract: REQUESTS_API.md): per-request records with their attempt timeline.

- `GET /api/v1/requests`: filtered, newest first, cursor pages as JSON; `format=csv|jsonl` exports every
  matching record (streamed, page by page, from `cursor` on).
- `GET /api/v1/requests/{request_id}`: one record, 404 when unknown or in another workspace.

The master key sees everything; a virtual key is silently scoped to its own workspace (a key without
a workspace: to its own requests), so a filter for another workspace just finds nothing.
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation

import grpc
import orjson
from aiohttp import web

from services.edge.errors import json_error, rpc_error_response
from services.edge.middleware import PRINCIPAL, REQUEST_ID
from services.edge.usage_api import usd
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

_EXACT = ("key_id", "workspace", "agent_id", "model", "deployment", "status", "client_request_id")
"""Exact filters; `client_request_id` is beyond REQUESTS_API.md: find a request by the x-request-id its client sent."""
_FALLBACK = {"true": meter_pb2.ListRequestLogRequest.FALLBACK_ONLY,
             "false": meter_pb2.ListRequestLogRequest.FALLBACK_NONE}
CSV_FIELDS = ("request_id", "client_request_id", "key_id", "workspace", "agent_id", "session_id", "model_requested",
              "model", "deployment", "status", "http_status", "prompt_tokens", "completion_tokens", "cached_tokens",
              "estimated", "cost_usd", "cost_known", "latency_ms", "ttft_ms", "trace_id", "started_at", "attempts")
EXPORT_PAGE = 500


class BadQuery(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str, param: str) -> int:
    """ISO-8601 (UTC when it names no zone) or Unix milliseconds -> Unix ms."""
    if value.isdigit():
        return int(value)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise BadQuery(f"`{param}` must be ISO-8601 (e.g. 2026-05-01T00:00:00Z) or Unix milliseconds", param) from None
    return int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() * 1000)


def parse_micros(value: str) -> int:
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise BadQuery("`min_cost_usd` must be a decimal string, e.g. \"0.01\"", "min_cost_usd") from None
    if not d.is_finite() or d < 0 or d > 10**9:
        raise BadQuery("`min_cost_usd` must be a non-negative amount of dollars", "min_cost_usd")
    return int((d * 1_000_000).to_integral_value(ROUND_CEILING))


def record_json(e: meter_pb2.RequestLogEntry) -> dict:
    return {"request_id": e.request_id, "client_request_id": e.client_request_id or None, "key_id": e.key_id,
            "workspace": e.workspace or None, "agent_id": e.agent_id or None, "session_id": e.session_id or None,
            "model_requested": e.model_requested, "model": e.model, "deployment": e.deployment or None,
            "status": e.status, "http_status": e.http_status, "prompt_tokens": e.prompt_tokens,
            "completion_tokens": e.completion_tokens, "cached_tokens": e.cached_tokens, "estimated": e.estimated,
            "cost_usd": usd(e.cost_micros) if e.cost_known else None, "cost_known": e.cost_known,
            "latency_ms": e.latency_ms, "ttft_ms": e.ttft_ms, "trace_id": e.trace_id or None,
            "started_at": iso_ms(e.started_at_ms),
            "attempts": [{"deployment": a.deployment, "model": a.model, "kind": a.kind, "outcome": a.outcome,
                          "cause": a.cause or None, "latency_ms": a.latency_ms} for a in e.attempts]}


def list_request(query, principal) -> meter_pb2.ListRequestLogRequest:
    """The meter query for these query parameters, scoped to what `principal` may see."""
    req = meter_pb2.ListRequestLogRequest(cursor=query.get("cursor", ""))
    limit = query.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 500:
        raise BadQuery("`limit` must be an integer from 1 to 500", "limit")
    req.limit = int(limit)
    for name in _EXACT:
        setattr(req, name, query.get(name, ""))
    if req.status and req.status not in ("ok", "error", "cancelled", "interrupted"):
        raise BadQuery("`status` must be one of ok, error, cancelled, interrupted", "status")
    if "has_fallback" in query:
        if query["has_fallback"] not in _FALLBACK:
            raise BadQuery("`has_fallback` must be true or false", "has_fallback")
        req.has_fallback = _FALLBACK[query["has_fallback"]]
    if query.get("min_cost_usd"):
        req.min_cost_micros = parse_micros(query["min_cost_usd"])
    for param, field in (("since", "since_ms"), ("until", "until_ms")):
        if query.get(param):
            setattr(req, field, parse_time(query[param], param))
    if query.get("format", "json") not in ("json", "csv", "jsonl"):
        raise BadQuery("`format` must be json, csv or jsonl", "format")
    if not principal.is_master:
        own, asked = principal.caller.workspace, req.workspace
        req.workspace = own
        if not own:
            req.key_id = principal.caller.key_id
        if asked and asked != own:
            req.key_id = "\x00"  # another workspace: matches nothing (silently scoped, as the contract says)
    return req


def _csv_line(record: dict) -> str:
    out = io.StringIO()
    row = {**record, "attempts": orjson.dumps(record["attempts"]).decode()}
    csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore").writerow(row)
    return out.getvalue()


class RequestsHandler:
    def __init__(self, meter: meter_pb2_grpc.MeterServiceStub, timeout: float = 10.0) -> None:
        self._meter = meter
        self._timeout = timeout

    async def list(self, request: web.Request) -> web.StreamResponse:
        try:
            req = list_request(request.query, request[PRINCIPAL])
        except BadQuery as bad:
            return json_error(400, str(bad), param=bad.param, code="invalid_value")
        fmt = request.query.get("format", "json")
        try:
            if fmt == "json":
                resp = await self._meter.ListRequestLog(req, timeout=self._timeout)
                return web.json_response({"object": "list", "data": [record_json(e) for e in resp.entries],
                                          "next_cursor": resp.next_cursor or None}, dumps=lambda o: orjson.dumps(o).decode())
            first = await self._meter.ListRequestLog(req, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, {"x-request-id": request[REQUEST_ID]})
        return await self._export(request, req, first, fmt)

    async def _export(self, request: web.Request, req, resp, fmt: str) -> web.StreamResponse:
        """Every matching record from the cursor on, one meter page at a time (memory stays one page)."""
        ctype = "text/csv" if fmt == "csv" else "application/x-ndjson"
        out = web.StreamResponse(headers={"Content-Type": f"{ctype}; charset=utf-8",
                                          "Content-Disposition": f'attachment; filename="requests.{fmt}"'})
        await out.prepare(request)
        if fmt == "csv":
            await out.write(",".join(CSV_FIELDS).encode() + b"\r\n")
        req.limit = EXPORT_PAGE
        while True:
            for e in resp.entries:
                rec = record_json(e)
                await out.write(_csv_line(rec).encode() if fmt == "csv" else orjson.dumps(rec) + b"\n")
            if not resp.next_cursor:
                break
            req.cursor = resp.next_cursor
            try:
                resp = await self._meter.ListRequestLog(req, timeout=self._timeout)
            except grpc.aio.AioRpcError:
                break  # headers are gone: the export ends short rather than lying about success in a 200 body
        await out.write_eof()
        return out

    async def get(self, request: web.Request) -> web.Response:
        principal = request[PRINCIPAL]
        workspace = "" if principal.is_master else principal.caller.workspace
        try:
            resp = await self._meter.GetRequestLog(meter_pb2.GetRequestLogRequest(
                request_id=request.match_info["request_id"], workspace=workspace), timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, {"x-request-id": request[REQUEST_ID]})
        entry = resp.entry
        if not principal.is_master and not principal.caller.workspace and entry.key_id != principal.caller.key_id:
            return json_error(404, f"No request `{entry.request_id}`.", param="request_id", code="request_not_found")
        return web.json_response(record_json(entry), dumps=lambda o: orjson.dumps(o).decode())

    async def store_status(self, request: web.Request) -> web.Response:
        if not request[PRINCIPAL].is_master:
            return json_error(403, "Only the master key may read the request log's health.", code="forbidden")
        try:
            s = await self._meter.GetRequestLogStatus(meter_pb2.GetRequestLogStatusRequest(), timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, {"x-request-id": request[REQUEST_ID]})
        return web.json_response({"object": "request_log.status", "backend": s.backend, "healthy": s.healthy,
                                  "last_error": s.last_error or None, "pending": s.pending, "written": s.written,
                                  "dropped": s.dropped, "rows": s.rows, "max_rows": s.max_rows,
                                  "retention_days": s.retention_days})
