"""ListRequestLog / GetRequestLogStatus requests <-> the request log's domain types (with bad input refused)."""
from __future__ import annotations

from services.common.errors import invalid
from services.meter.requestlog.entry import RequestFilter, decode_cursor
from tokenyard.meter.v1 import meter_pb2

MAX_LIMIT = 500
_FALLBACK = {meter_pb2.ListRequestLogRequest.FALLBACK_ONLY: True, meter_pb2.ListRequestLogRequest.FALLBACK_NONE: False}
STATUSES = ("ok", "error", "cancelled", "interrupted")


def filter_of(req: meter_pb2.ListRequestLogRequest) -> RequestFilter:
    if not 0 <= req.limit <= MAX_LIMIT:
        raise invalid(f"limit must be between 1 and {MAX_LIMIT}", "limit")
    if req.status and req.status not in STATUSES:
        raise invalid(f"status must be one of {', '.join(STATUSES)}", "status")
    if min(req.min_cost_micros, req.since_ms, req.until_ms) < 0:
        raise invalid("min_cost, since and until must not be negative", "min_cost_usd")
    try:
        after = decode_cursor(req.cursor) if req.cursor else None
    except ValueError as exc:
        raise invalid(str(exc), "cursor") from None
    return RequestFilter(limit=req.limit or 50, after=after, key_id=req.key_id, workspace=req.workspace,
                         agent_id=req.agent_id, model=req.model, deployment=req.deployment, status=req.status,
                         has_fallback=_FALLBACK.get(req.has_fallback), min_cost_micros=req.min_cost_micros,
                         since_ms=req.since_ms, until_ms=req.until_ms, client_request_id=req.client_request_id)


def status_of(status: dict) -> meter_pb2.GetRequestLogStatusResponse:
    return meter_pb2.GetRequestLogStatusResponse(**status)
