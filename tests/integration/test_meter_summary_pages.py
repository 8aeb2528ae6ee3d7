"""Usage summaries read per-day aggregates: their size depends on the subjects, never on how many requests
there were, and long breakdowns (by key, by agent...) come in pages, dearest first."""
from __future__ import annotations

from tests.integration.meter_support import ms, record, running_meter
from tokenyard.meter.v1 import meter_pb2

MONTH = meter_pb2.PERIOD_MONTH


async def _summary(meter, at, **kw):
    return await meter.GetUsageSummary(meter_pb2.GetUsageSummaryRequest(period=MONTH, at_ms=at, **kw))


async def test_a_summary_is_the_same_size_after_ten_or_a_thousand_requests(redis_server, redis_client):
    at = ms(2026, 3, 10, 12)
    async with running_meter(redis_server.url) as meter:
        async def send(start, n):
            await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
                record(f"h{start + i}", at_ms=at + i, key_id=f"k{i % 5}", agent_id=f"a{i % 3}", workspace="acme",
                       deployment=f"d{i % 2}") for i in range(n)]))
        await send(0, 10)
        small = await _summary(meter, at)
        for batch in range(1, 100):
            await send(batch * 10, 10)
        large = await _summary(meter, at)
    assert (small.totals.requests, large.totals.requests) == (10, 1000)
    # 100x the requests: only the counters' varints widen (a few bytes each), no entry per request
    assert len(large.SerializeToString()) < 1.25 * len(small.SerializeToString())
    assert {d.id: d.totals.requests for d in large.by_deployment} == {"d0": 500, "d1": 500}


async def test_long_breakdowns_come_in_pages_dearest_first(redis_server, redis_client):
    at = ms(2026, 4, 2, 9)
    async with running_meter(redis_server.url) as meter:
        await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
            record(f"p{i}", at_ms=at, key_id=f"key{i:03d}", workspace="acme", prompt=10 * (i + 1), completion=0)
            for i in range(250)]))
        first = await _summary(meter, at, breakdown_limit=100)
        assert first.breakdown_sizes["key"] == 250 and len(first.by_key) == 100
        assert first.by_key[0].id == "key249"  # the dearest leads
        seen = [k.id for k in first.by_key]
        offset = 100
        while offset < first.breakdown_sizes["key"]:
            page = await _summary(meter, at, breakdown_limit=100, breakdown_offset=offset)
            seen += [k.id for k in page.by_key]
            offset += 100
        assert len(seen) == 250 == len(set(seen))
        costs = [k.totals.cost_micros for k in (await _summary(meter, at)).by_key]
        assert costs == sorted(costs, reverse=True)
