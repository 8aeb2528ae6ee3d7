"""What a usage record tells the request log about routing: each attempt's deployment, kind, outcome,
cause and latency (from the dispatcher's leases), and the trace the request ran under.

The dispatcher already keeps one Lease per attempt; this only reads them when the request ends, so
the request path pays one small list per request and nothing per chunk.
"""
from __future__ import annotations

from collections.abc import Callable

from opentelemetry import trace as otel

from services.router.dispatcher import Trace
from tokenyard.meter.v1 import meter_pb2

_OUTCOMES = {"ok": "ok", "error": "error", "interrupted": "error", "cancelled": "cancelled", "hedge_lost": "lost"}


def attempts(trace: Trace, monotonic: Callable[[], float], status: str) -> list[meter_pb2.RequestAttempt]:
    """One entry per lease; an attempt still open (the winner, before the dispatcher closes it) takes the
    request's own status and ends now."""
    now = monotonic()
    out = []
    for lease in trace.leases:
        outcome = _OUTCOMES.get(lease.outcome) or _OUTCOMES.get(status, "error")
        cause = lease.cause or ("interrupted" if lease.outcome == "interrupted" else "")
        end = lease.ended if lease.ended is not None else now
        out.append(meter_pb2.RequestAttempt(deployment=lease.target.name, model=lease.model, kind=lease.kind,
                                            outcome=outcome, cause=cause,
                                            latency_ms=max(0, int((end - lease.started) * 1000))))
    return out


def current_trace_id() -> str:
    """The W3C trace id of the span the request runs under (32 hex), or "" when tracing is off."""
    ctx = otel.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
