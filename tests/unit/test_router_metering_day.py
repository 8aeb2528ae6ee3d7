"""A request is filed under the time the edge accepted it, so the edge's record of a broken stream and
the router's record land on the same UTC day (the ledger applies a request id once per day's records)."""
from __future__ import annotations

from datetime import datetime, timezone

from services.meter.periods import day_of
from services.router.metering import STARTED_AT_TOLERANCE_MS, Metering
from services.router.tokens import TokenCounter
from tokenyard.router.v1 import router_pb2

_MIDNIGHT_MS = int(datetime(2026, 12, 3, tzinfo=timezone.utc).timestamp() * 1000)


def _metering(now_ms: int) -> Metering:
    return Metering(reporter=None, counter=TokenCounter(), clock=lambda: now_ms / 1000)


def test_a_request_accepted_before_midnight_is_filed_on_that_day_when_the_router_starts_after_it():
    accepted = _MIDNIGHT_MS - 100
    record = _metering(_MIDNIGHT_MS + 100).start(router_pb2.ChatRequest(model="m", started_at_ms=accepted))
    assert record.started_ms == accepted
    assert day_of(record.started_ms) == day_of(accepted) != day_of(_MIDNIGHT_MS + 100)


def test_a_start_time_far_from_the_routers_clock_is_not_trusted():
    now = _MIDNIGHT_MS + 3_600_000
    backdated = router_pb2.ChatRequest(model="m", started_at_ms=now - STARTED_AT_TOLERANCE_MS - 1)
    assert _metering(now).start(backdated).started_ms == now
    assert _metering(now).start(router_pb2.ChatRequest(model="m")).started_ms == now
