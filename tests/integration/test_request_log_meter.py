"""The meter's side of the request log: Redis keeps no per-request record (only an expiring marker), each
applied record reaches the log once, and a store that is down never fails or slows RecordUsage."""
from __future__ import annotations

import time

import grpc
import pytest

from services.meter.requestlog.settings import RequestLogSettings
from tests.integration.meter_support import record, running_meter, wait_for_request_log
from tokenyard.meter.v1 import meter_pb2

DAY = meter_pb2.PERIOD_DAY


async def test_redis_keeps_only_an_expiring_marker_per_request(redis_server, redis_client):
    now = int(time.time() * 1000)
    async with running_meter(redis_server.url) as meter:
        await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
            record(f"marker-{i}", at_ms=now, key_id="k", workspace="acme") for i in range(20)]))
    per_request = [k async for k in redis_client.scan_iter(match="*marker-*")]
    assert len(per_request) == 40, "two markers per request: the ledger's and the settlement's"
    for k in per_request:
        assert await redis_client.type(k) == b"string"  # a marker, not the record's fields
        assert 0 < await redis_client.ttl(k) <= 2 * 86400  # gone after the dedup window, not 400 days


async def test_each_applied_record_reaches_the_log_once_and_a_losing_hedge_is_no_row(redis_server, redis_client):
    now = int(time.time() * 1000)
    async with running_meter(redis_server.url) as meter:
        first = record("once", at_ms=now, key_id="k", workspace="acme")
        hedge = record("once-hedge1", at_ms=now, key_id="k", workspace="acme", status="hedge_lost")
        await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[first, hedge]))
        again = await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[first]))
        assert again.duplicates == 1
        entry = (await wait_for_request_log(meter, "once")).entry
        assert entry.cost_known and entry.cost_micros == 750  # gpt-4o: 100 in, 50 out
        listed = await meter.ListRequestLog(meter_pb2.ListRequestLogRequest(key_id="k"))
        assert [e.request_id for e in listed.entries] == ["once"]
        usage = await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, at_ms=now, key_id="k", workspace="acme"))
        assert usage.totals.requests == 2  # the hedge is still metered and billed


async def test_an_unreachable_store_never_fails_record_usage_and_shows_in_status(redis_server, redis_client):
    down = RequestLogSettings(url="postgresql://nobody@127.0.0.1:1/none", linger=0)
    now = int(time.time() * 1000)
    async with running_meter(redis_server.url, request_log=down) as meter:
        t0 = time.monotonic()
        reply = await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
            record("lost-log", at_ms=now, key_id="kd", workspace="acme")]), timeout=5)
        assert reply.recorded == 1 and time.monotonic() - t0 < 2
        usage = await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, at_ms=now, key_id="kd", workspace="acme"))
        assert usage.totals.requests == 1  # money and aggregates do not depend on the log
        status = await meter.GetRequestLogStatus(meter_pb2.GetRequestLogStatusRequest())
        assert status.backend == "postgresql" and not status.healthy and status.last_error
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await meter.ListRequestLog(meter_pb2.ListRequestLogRequest())
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_bad_explorer_queries_are_invalid_argument(redis_server):
    async with running_meter(redis_server.url) as meter:
        for bad in (meter_pb2.ListRequestLogRequest(limit=501), meter_pb2.ListRequestLogRequest(cursor="%%%"),
                    meter_pb2.ListRequestLogRequest(status="weird")):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await meter.ListRequestLog(bad)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await meter.GetRequestLog(meter_pb2.GetRequestLogRequest(request_id="missing"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_per_session_and_per_user_aggregates_keep_a_month_keys_and_agents_400_days(redis_server, redis_client):
    now = int(time.time() * 1000)
    async with running_meter(redis_server.url) as meter:
        await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
            record("ttl-1", at_ms=now, key_id="kt", agent_id="at", user="u-1", session_id="s-1", workspace="acme")]))
        usage = await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, at_ms=now, session_id="s-1", workspace="acme"))
        assert usage.totals.requests == 1  # still queryable while it is kept
    ttls = {k.decode(): await redis_client.ttl(k) async for k in redis_client.scan_iter(match="ty:{u:*")}
    session_keys = [k for k in ttls if ":session:" in k or ":user:" in k or k.endswith((":idx:session", ":idx:user"))]
    lasting = [k for k in ttls if (":key:" in k or ":agent:" in k) and ":req:" not in k]
    assert session_keys and lasting
    assert all(0 < ttls[k] <= 35 * 86400 for k in session_keys), {k: ttls[k] for k in session_keys}
    assert all(ttls[k] > 35 * 86400 for k in lasting)


async def test_a_record_whose_first_delivery_failed_after_the_ledger_still_gets_its_row(redis_server, redis_client):
    """Redis dropped mid-pipeline: the ledger step had applied, the call failed, the sender retried. The retry
    is a ledger duplicate, and it must still give the request its row (once)."""
    now = int(time.time() * 1000)
    async with running_meter(redis_server.url) as meter:
        first = record("half-applied", at_ms=now, key_id="kh", workspace="acme")
        from services.meter import keys
        from services.meter.periods import day_of
        await redis_client.set(keys.record_key(day_of(now), "kh", "half-applied"), "1", ex=60)  # as if applied
        reply = await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[first, first]))
        assert (reply.recorded, reply.duplicates) == (0, 2)
        entry = (await wait_for_request_log(meter, "half-applied")).entry
        assert entry.key_id == "kh"
        listed = await meter.ListRequestLog(meter_pb2.ListRequestLogRequest(key_id="kh"))
        assert [e.request_id for e in listed.entries] == ["half-applied"]
