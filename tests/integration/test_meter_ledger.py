"""Usage through the meter's gRPC API on a real Redis: cost, breakdowns, periods, idempotency, summaries."""
from __future__ import annotations

import grpc
import pytest

from tests.integration.meter_support import ms, record, running_meter, wait_for_request_log
from tokenyard.meter.v1 import meter_pb2

DAY, WEEK, MONTH = meter_pb2.PERIOD_DAY, meter_pb2.PERIOD_WEEK, meter_pb2.PERIOD_MONTH


@pytest.fixture
async def meter(redis_client, redis_server):
    async with running_meter(redis_server.url) as stub:
        yield stub


async def test_cost_is_recorded_per_request_and_summed_in_micro_dollars(meter):
    at = ms(2026, 5, 10, 12)
    await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
        record("r1", at_ms=at, model="gpt-4o", prompt=1000, completion=500, cached=400, key_id="k1", workspace="acme"),
        record("r2", at_ms=at, model="gpt-4o-mini", prompt=1000, completion=1000, key_id="k1", workspace="acme"),
        record("r3", at_ms=at, model="llama-local", prompt=5000, completion=5000, key_id="k1", workspace="acme"),
    ]))
    usage = await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, at_ms=at, key_id="k1"))
    by_model = {m.model: m.totals for m in usage.by_model}
    assert by_model["gpt-4o"].cost_micros == 7000          # 600*2.5 + 400*1.25 + 500*10 per 1M
    assert by_model["gpt-4o-mini"].cost_micros == 750      # 1000*0.15 + 1000*0.60
    assert by_model["llama-local"].cost_micros == 0        # unpriced: self-hosted
    assert usage.totals.cost_micros == 7750
    assert usage.totals.cached_tokens == 400 and usage.totals.requests == 3


async def test_a_record_counts_once_however_often_it_is_sent(meter):
    at = ms(2026, 5, 10, 12)
    r = record("dup-1", at_ms=at, key_id="k1", workspace="acme")
    first = await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[r, r]))
    again = await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[r]))
    assert (first.recorded, first.duplicates, again.recorded, again.duplicates) == (1, 1, 0, 1)
    usage = await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, at_ms=at))
    assert usage.totals.requests == 1 and usage.totals.total_tokens == 150


async def test_usage_by_key_agent_workspace_user_and_session(meter):
    at = ms(2026, 5, 10, 12)
    await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
        record("a", at_ms=at, key_id="k1", workspace="acme", agent_id="bot", user="u1", session_id="s1"),
        record("b", at_ms=at, key_id="k2", workspace="acme", agent_id="bot", user="u2"),
        record("c", at_ms=at, key_id="k3", workspace="other", agent_id="bot2", user="u1"),
    ]))

    async def requests(**f) -> int:
        return (await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, at_ms=at, **f))).totals.requests

    assert await requests() == 3
    assert await requests(workspace="acme") == 2
    assert await requests(agent_id="bot") == 2
    assert await requests(agent_id="bot", workspace="other") == 0   # another workspace's agent is invisible
    assert await requests(user="u1") == 2
    assert await requests(user="u1", workspace="acme") == 1
    assert await requests(session_id="s1") == 1
    assert await requests(key_id="k3", workspace="other") == 1
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await requests(key_id="k1", agent_id="bot")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_periods_are_utc_day_week_month_with_a_by_date_breakdown(meter):
    # Tue 31 March 23:59:59 UTC and Wed 1 April 00:00:00 UTC: same ISO week, different days and months.
    march, april = ms(2026, 3, 31, 23, 59, 59), ms(2026, 4, 1, 0, 0, 0)
    may = ms(2026, 5, 1, 0, 0, 0)
    await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
        record("m", at_ms=march, prompt=10, completion=0), record("a", at_ms=april, prompt=20, completion=0),
        record("n", at_ms=may, prompt=40, completion=0)]))

    async def tokens(period, at) -> int:
        return (await meter.GetUsage(meter_pb2.GetUsageRequest(period=period, at_ms=at))).totals.prompt_tokens

    assert await tokens(DAY, march) == 10 and await tokens(DAY, april) == 20
    assert await tokens(WEEK, march) == 30 and await tokens(WEEK, april) == 30
    assert await tokens(MONTH, march) == 10 and await tokens(MONTH, april) == 20   # month rollover
    assert await tokens(MONTH, may) == 40
    usage = await meter.GetUsage(meter_pb2.GetUsageRequest(period=WEEK, at_ms=april))
    assert (usage.start_date, usage.end_date) == ("2026-03-30", "2026-04-05")
    assert [(d.date, d.totals.prompt_tokens) for d in usage.by_date][:4] == [
        ("2026-03-30", 0), ("2026-03-31", 10), ("2026-04-01", 20), ("2026-04-02", 0)]
    assert len(usage.by_date) == 7 and usage.by_date[1].by_model[0].model == "gpt-4o"


async def test_summary_breaks_down_by_workspace_key_agent_and_stays_inside_a_workspace(meter):
    at = ms(2026, 5, 10, 12)
    await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
        record("a", at_ms=at, key_id="k1", workspace="acme", agent_id="bot", prompt=1000, completion=0),
        record("b", at_ms=at + 86_400_000, key_id="k1", workspace="acme", prompt=1000, completion=0),
        record("c", at_ms=at, key_id="k9", workspace="other", prompt=4000, completion=0),
    ]))
    s = await meter.GetUsageSummary(meter_pb2.GetUsageSummaryRequest(period=MONTH, at_ms=at))
    assert s.totals.requests == 3 and s.totals.cost_micros == 15000
    assert [(w.id, w.totals.cost_micros) for w in s.by_workspace] == [("other", 10000), ("acme", 5000)]
    assert {k.id: k.totals.requests for k in s.by_key} == {"k1": 2, "k9": 1}
    assert [a.id for a in s.by_agent] == ["bot"]
    scoped = await meter.GetUsageSummary(meter_pb2.GetUsageSummaryRequest(period=MONTH, at_ms=at, workspace="acme"))
    assert scoped.totals.requests == 2 and not scoped.by_workspace
    assert [k.id for k in scoped.by_key] == ["k1"]
    assert [(d.date, d.totals.requests) for d in scoped.by_date if d.totals.requests] == [
        ("2026-05-10", 1), ("2026-05-11", 1)]


async def test_ids_with_separators_do_not_collide(meter):
    at = ms(2026, 5, 10, 12)
    await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
        record("x", at_ms=at, workspace="a:key:b", model="org/model:v1"), record("y", at_ms=at, key_id="b",
                                                                                   workspace="a")]))
    usage = await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, at_ms=at, workspace="a:key:b"))
    assert usage.totals.requests == 1 and usage.by_model[0].model == "org/model:v1"


async def test_records_without_request_id_are_refused(meter):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[record("", at_ms=ms(2026, 1, 1))]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_one_batch_over_two_days_sums_each_day_and_keeps_every_record(meter):
    day1, day2 = ms(2026, 5, 11, 23, 59), ms(2026, 5, 12, 0, 1)
    batch = [record(f"b{i}", at_ms=day1 if i < 4 else day2, model="gpt-4o-mini" if i % 2 else "gpt-4o",
                    prompt=100 * (i + 1), completion=10, key_id="kb", workspace="acme",
                    status="error" if i == 2 else "ok") for i in range(6)]
    reply = await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[*batch, batch[1]]))
    assert (reply.recorded, reply.duplicates) == (6, 1)
    first = await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, at_ms=day1, key_id="kb", workspace="acme"))
    second = await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, at_ms=day2, key_id="kb", workspace="acme"))
    assert (first.totals.requests, first.totals.prompt_tokens, first.totals.errors) == (4, 1000, 1)
    assert (second.totals.requests, second.totals.prompt_tokens, second.totals.errors) == (2, 1100, 0)
    assert {m.model: m.totals.requests for m in first.by_model} == {"gpt-4o": 2, "gpt-4o-mini": 2}
    stored = (await wait_for_request_log(meter, "b5")).entry
    assert (stored.model, stored.prompt_tokens, stored.key_id) == ("gpt-4o-mini", 600, "kb")


async def test_estimated_tokens_are_counted_apart_in_the_totals(meter):
    """Issue 17 item 3: a bill says how much of it the router counted itself."""
    at = ms(2026, 5, 11, 12)
    estimated = record("est-1", at_ms=at, model="llama-local", prompt=30, completion=16, key_id="k9", workspace="est")
    estimated.usage.estimated = True
    exact = record("exact-1", at_ms=at, model="llama-local", prompt=13, completion=5, key_id="k9", workspace="est")
    await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[estimated, exact]))
    usage = await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, at_ms=at, workspace="est"))
    assert (usage.totals.total_tokens, usage.totals.estimated_tokens) == (64, 46)
    assert {m.model: m.totals.estimated_tokens for m in usage.by_model} == {"llama-local": 46}


async def test_a_meter_on_a_cluster_node_without_the_cluster_url_refuses_for_good_not_for_now(redis_cluster):
    """MOVED is not an outage: the meter says FAILED_PRECONDITION (senders park the batch), not UNAVAILABLE
    or UNKNOWN (senders retry it every few seconds, forever)."""
    from datetime import date

    from services.meter import keys
    from tests.conftest import misdirected_url

    at = ms(2026, 5, 10, 12)
    async with running_meter(misdirected_url(redis_cluster, keys.day_tag(date(2026, 5, 10)))) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.RecordUsage(meter_pb2.RecordUsageRequest(records=[record("m1", at_ms=at, key_id="k1")]))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "redis+cluster://" in refused.value.details()
