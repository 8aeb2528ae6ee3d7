"""A request log row: built from a usage record, turned into the proto entry, filtered and paged.

Rows are plain tuples in `COLUMNS` order so both stores share one INSERT and one WHERE builder; only
the placeholder differs (`?` for SQLite, `%s` for psycopg). Pages are keyset pages over
(started_at_ms, request_id) descending, so a page costs an index range scan however deep it is.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from tokenyard.meter.v1 import meter_pb2

COLUMNS = ("request_id", "client_request_id", "key_id", "workspace", "agent_id", "session_id", "model_requested",
           "model", "deployment", "status", "http_status", "prompt_tokens", "completion_tokens", "cached_tokens",
           "estimated", "cost_micros", "cost_known", "latency_ms", "ttft_ms", "trace_id", "started_at_ms",
           "has_fallback", "attempts")

_HTTP_BY_STATUS = {"ok": 200, "interrupted": 200, "cancelled": 499, "error": 502}


def row_of(r: meter_pb2.UsageRecord, cost_micros: int, cost_known: bool) -> tuple:
    c, u = r.caller, r.usage
    attempts = [{"deployment": a.deployment, "model": a.model, "kind": a.kind, "outcome": a.outcome,
                 "cause": a.cause, "latency_ms": a.latency_ms} for a in r.attempt_log]
    http_status = r.http_status or _HTTP_BY_STATUS.get(r.status, 0)
    return (r.request_id, r.client_request_id, c.key_id, c.workspace, c.agent_id, c.session_id,
            r.model_requested or r.model, r.model, r.deployment, r.status, http_status, u.prompt_tokens,
            u.completion_tokens, u.cached_tokens, int(u.estimated), cost_micros, int(cost_known), r.latency_ms,
            r.ttft_ms, r.trace_id, r.started_at_ms, int(any(a.kind == "fallback" for a in r.attempt_log)),
            json.dumps(attempts, separators=(",", ":")))


def entry_of(row) -> meter_pb2.RequestLogEntry:
    d = dict(zip(COLUMNS, row))
    attempts = [meter_pb2.RequestAttempt(**a) for a in json.loads(d.pop("attempts") or "[]")]
    d.pop("has_fallback")
    d["estimated"], d["cost_known"] = bool(d["estimated"]), bool(d["cost_known"])
    return meter_pb2.RequestLogEntry(**{k: v for k, v in d.items() if v is not None}, attempts=attempts)


def encode_cursor(started_at_ms: int, request_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([started_at_ms, request_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Raises ValueError for anything next_cursor did not produce."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, rid = json.loads(raw)
    except Exception as exc:
        raise ValueError("cursor is not one this API returned") from exc
    if not isinstance(at, int) or not isinstance(rid, str):
        raise ValueError("cursor is not one this API returned")
    return at, rid


@dataclass(frozen=True)
class RequestFilter:
    limit: int = 50
    after: tuple[int, str] | None = None
    """The last row of the previous page (decoded cursor)."""
    key_id: str = ""
    workspace: str = ""
    agent_id: str = ""
    model: str = ""
    deployment: str = ""
    status: str = ""
    has_fallback: bool | None = None
    min_cost_micros: int = 0
    since_ms: int = 0
    until_ms: int = 0
    client_request_id: str = ""

    def where(self, ph: str) -> tuple[str, list]:
        """The WHERE clause (with `ph` placeholders) and its parameters."""
        parts, params = [], []
        for column in ("key_id", "workspace", "agent_id", "deployment", "status", "client_request_id"):
            value = getattr(self, column)
            if value:
                parts.append(f"{column} = {ph}")
                params.append(value)
        if self.model:
            parts.append(f"(model = {ph} OR model_requested = {ph})")
            params += [self.model, self.model]
        if self.has_fallback is not None:
            parts.append(f"has_fallback = {ph}")
            params.append(int(self.has_fallback))
        if self.min_cost_micros:
            parts.append(f"cost_known = 1 AND cost_micros >= {ph}")
            params.append(self.min_cost_micros)
        if self.since_ms:
            parts.append(f"started_at_ms >= {ph}")
            params.append(self.since_ms)
        if self.until_ms:
            parts.append(f"started_at_ms < {ph}")
            params.append(self.until_ms)
        if self.after is not None:
            parts.append(f"(started_at_ms < {ph} OR (started_at_ms = {ph} AND request_id < {ph}))")
            params += [self.after[0], self.after[0], self.after[1]]
        return (" WHERE " + " AND ".join(parts)) if parts else "", params


def select_sql(f: RequestFilter, ph: str) -> tuple[str, list]:
    """One page plus one row (whether there is a next page)."""
    where, params = f.where(ph)
    sql = (f"SELECT {', '.join(COLUMNS)} FROM request_log{where} "
           f"ORDER BY started_at_ms DESC, request_id DESC LIMIT {ph}")
    return sql, [*params, f.limit + 1]


def page(rows: list, limit: int) -> tuple[list[meter_pb2.RequestLogEntry], str]:
    entries = [entry_of(r) for r in rows[:limit]]
    nxt = encode_cursor(entries[-1].started_at_ms, entries[-1].request_id) if len(rows) > limit and entries else ""
    return entries, nxt


def create_table_sql(int_type: str) -> list[str]:
    text_cols = {"request_id", "client_request_id", "key_id", "workspace", "agent_id", "session_id",
                 "model_requested", "model", "deployment", "status", "trace_id", "attempts"}
    cols = ", ".join(f"{c} {'TEXT' if c in text_cols else int_type} NOT NULL" for c in COLUMNS)
    return [f"CREATE TABLE IF NOT EXISTS request_log ({cols}, PRIMARY KEY (request_id))",
            "CREATE INDEX IF NOT EXISTS request_log_time ON request_log (started_at_ms DESC, request_id DESC)",
            "CREATE INDEX IF NOT EXISTS request_log_ws_time ON request_log (workspace, started_at_ms DESC)",
            "CREATE INDEX IF NOT EXISTS request_log_key_time ON request_log (key_id, started_at_ms DESC)",
            "CREATE INDEX IF NOT EXISTS request_log_client_id ON request_log (client_request_id)"]
