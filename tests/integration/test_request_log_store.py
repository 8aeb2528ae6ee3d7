"""Both request log stores, SQLite (file, WAL) and a real PostgreSQL server, behave the same: rows are
written once per request id, listed newest first in keyset pages, filtered, swept by age and size."""
from __future__ import annotations

import uuid

import psycopg
import pytest

from services.meter.requestlog.agent_health import assess
from services.meter.requestlog.entry import RequestFilter, decode_cursor, page, row_of
from services.meter.requestlog.postgres_store import PostgresRequestLog
from services.meter.requestlog.sqlite_store import SQLiteRequestLog
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2

T0 = 1_780_000_000_000


def rec(rid: str, at: int, *, key="k1", ws="acme", agent="", model="m", asked="", dep="d1", status="ok",
        fallback=False, latency=10) -> meter_pb2.UsageRecord:
    attempts = [meter_pb2.RequestAttempt(deployment="d0", model="other", kind="first", outcome="error",
                                         cause="server_error", latency_ms=3)] if fallback else []
    attempts.append(meter_pb2.RequestAttempt(deployment=dep, model=model, kind="fallback" if fallback else "first",
                                             outcome="ok" if status == "ok" else "error", latency_ms=latency))
    return meter_pb2.UsageRecord(
        request_id=rid, caller=common_pb2.Caller(key_id=key, workspace=ws, agent_id=agent), model=model,
        model_requested=asked or model, deployment=dep, status=status, started_at_ms=at, latency_ms=latency,
        usage=common_pb2.Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15), attempt_log=attempts)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request, tmp_path):
    if request.param == "sqlite":
        s = SQLiteRequestLog(tmp_path / "requests.db")
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        s = PostgresRequestLog(server.url.rsplit("/", 1)[0] + f"/{name}")
    await s.open()
    yield s
    await s.aclose()


async def _all(store, **filters) -> list[str]:
    entries, _ = page(await store.query(RequestFilter(limit=500, **filters)), 500)
    return [e.request_id for e in entries]


async def test_rows_round_trip_once_per_request_id(store):
    r = rec("r1", T0, fallback=True, asked="tier/economy")
    await store.write([row_of(r, 125, True)])
    await store.write([row_of(r, 999, True)])  # a re-delivered record changes nothing
    entry = page([await store.get("r1")], 1)[0][0]
    assert (entry.cost_micros, entry.cost_known, entry.model_requested, entry.http_status) == (125, True, "tier/economy", 200)
    assert [(a.kind, a.outcome, a.cause) for a in entry.attempts] == [("first", "error", "server_error"),
                                                                       ("fallback", "ok", "")]
    assert await store.get("nope") is None


async def test_keyset_pages_are_newest_first_without_gaps_or_repeats(store):
    # Several rows share a millisecond: the request id breaks the tie, so no page boundary loses one.
    await store.write([row_of(rec(f"r{i:02d}", T0 + i // 3), 0, False) for i in range(20)])
    seen, after = [], None
    while True:
        entries, cursor = page(await store.query(RequestFilter(limit=4, after=after)), 4)
        seen += [(e.started_at_ms, e.request_id) for e in entries]
        if not cursor:
            break
        after = decode_cursor(cursor)
    assert len(seen) == 20 and seen == sorted(seen, reverse=True)


async def test_every_filter_narrows_to_what_it_names(store):
    rows = [rec("a", T0, key="k1", ws="acme", agent="bot", model="gpt", dep="d1"),
            rec("b", T0 + 1, key="k2", ws="acme", model="mini", asked="tier/economy", dep="d2", status="error"),
            rec("c", T0 + 2, key="k3", ws="other", model="gpt", dep="d1", fallback=True),
            rec("d", T0 + 3, key="k3", ws="other", model="gpt", dep="d1", status="cancelled")]
    await store.write([row_of(r, cost, known) for r, cost, known in
                       zip(rows, (100, 5_000, 20_000, 0), (True, True, True, False))])
    assert await _all(store) == ["d", "c", "b", "a"]
    assert await _all(store, key_id="k3") == ["d", "c"]
    assert await _all(store, workspace="acme") == ["b", "a"]
    assert await _all(store, agent_id="bot") == ["a"]
    assert await _all(store, model="tier/economy") == ["b"]  # the model asked for matches too
    assert await _all(store, deployment="d2") == ["b"]
    assert await _all(store, status="error") == ["b"]
    assert await _all(store, has_fallback=True) == ["c"]
    assert await _all(store, has_fallback=False) == ["d", "b", "a"]
    assert await _all(store, min_cost_micros=5_000) == ["c", "b"]
    assert await _all(store, since_ms=T0 + 1, until_ms=T0 + 3) == ["c", "b"]


async def test_sweep_applies_retention_then_the_size_cap_oldest_first(store):
    await store.write([row_of(rec(f"r{i}", T0 + i * 1000), 0, False) for i in range(10)])
    deleted, left = await store.sweep(T0 + 2000, 100)  # older than r2: gone
    assert (deleted, left) == (2, 8)
    deleted, left = await store.sweep(0, 5)  # over the cap: the oldest go first
    assert (deleted, left) == (3, 5) and await _all(store) == ["r9", "r8", "r7", "r6", "r5"]


async def test_agent_health_reads_each_agents_recent_requests(store):
    rows = [rec("h1", T0, agent="steady", latency=100), rec("h2", T0 + 1, agent="steady", latency=300),
            rec("f1", T0, agent="flaky", status="ok"),
            *[rec(f"f{i}", T0 + i, agent="flaky", status="error") for i in range(2, 8)],
            rec("x", T0 + 9, agent="")]
    await store.write([row_of(r, 0, False) for r in rows])
    report = {a.agent_id: a for a in assess(await store.agent_rows(T0, 1000))}
    assert set(report) == {"steady", "flaky"}
    steady, flaky = report["steady"], report["flaky"]
    assert steady.status == meter_pb2.AGENT_HEALTH_STATUS_HEALTHY and steady.success_rate == 1.0
    assert (steady.latency_p50_ms, steady.latency_p99_ms) == (300, 300)
    assert flaky.status == meter_pb2.AGENT_HEALTH_STATUS_UNHEALTHY and flaky.consecutive_failures == 6
    assert dict(flaky.errors_by_type) == {"http_502": 6}
