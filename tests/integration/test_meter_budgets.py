"""Budgets through the meter's gRPC API: the 50-vs-10 race, settle to actual, release, expiry, allowance."""
from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from services.common.errors import MD_ERROR_CODE, MD_ERROR_TYPE, MD_HTTP_STATUS
from tests.integration.meter_support import metadata_of, ms, record, running_meter
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2

KEY, WORKSPACE = meter_pb2.SUBJECT_KIND_KEY, meter_pb2.SUBJECT_KIND_WORKSPACE
MONTH, DAY = meter_pb2.PERIOD_MONTH, meter_pb2.PERIOD_DAY
CALLER = common_pb2.Caller(key_id="k1", workspace="acme")
# gpt-4o: 1000 prompt tokens at $2.50/1M + 1000 max tokens at $10/1M = 12_500 micro-dollars worst case.
WORST = 12_500


def admit(rid: str, max_tokens: int = 1000, prompt: int = 1000, caller=CALLER, **kw) -> meter_pb2.AdmitRequest:
    return meter_pb2.AdmitRequest(caller=caller, request_id=rid, model="gpt-4o", prompt_tokens=prompt,
                                  max_tokens=max_tokens, **kw)


async def set_budget(stub, limit: int, kind=WORKSPACE, sid="acme", period=MONTH) -> None:
    await stub.SetBudget(meter_pb2.SetBudgetRequest(budget=meter_pb2.Budget(
        kind=kind, id=sid, workspace="acme", period=period, limit_micros=limit)))


async def test_fifty_concurrent_requests_from_two_clients_against_a_budget_for_ten_admit_ten(redis_client, redis_server):
    async with running_meter(redis_server.url) as a, running_meter(redis_server.url) as b:
        await set_budget(a, 10 * WORST)

        async def one(i: int) -> bool:
            try:
                await (a if i % 2 else b).Admit(admit(f"race-{i}"))
                return True
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                md = metadata_of(err)
                assert (md[MD_ERROR_CODE], md[MD_ERROR_TYPE], md[MD_HTTP_STATUS]) == (
                    "budget_exceeded", "insufficient_quota", "429")
                return False

        results = await asyncio.gather(*(one(i) for i in range(50)))
        assert sum(results) == 10
        budgets = (await a.ListBudgets(meter_pb2.ListBudgetsRequest(workspace="acme"))).budgets
        assert budgets[0].reserved_micros == 10 * WORST and budgets[0].spent_micros == 0


async def test_settling_to_actual_cost_frees_the_difference(redis_client, redis_server):
    async with running_meter(redis_server.url) as meter:
        await set_budget(meter, 2 * WORST, kind=KEY, sid="k1")
        now = int(time.time() * 1000)
        await meter.Admit(admit("s1"))
        await meter.Admit(admit("s2"))
        with pytest.raises(grpc.aio.AioRpcError):
            await meter.Admit(admit("s3"))
        # s1 actually used 1000 prompt + 100 completion tokens: 2500 + 1000 = 3500 micro-dollars.
        await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
            record("s1", at_ms=now, prompt=1000, completion=100, key_id="k1", workspace="acme")]))
        [b] = (await meter.ListBudgets(meter_pb2.ListBudgetsRequest(workspace="acme"))).budgets
        assert (b.spent_micros, b.reserved_micros) == (3500, WORST)
        # A re-sent record settles nothing twice.
        await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
            record("s1", at_ms=now, prompt=1000, completion=100, key_id="k1", workspace="acme")]))
        [b] = (await meter.ListBudgets(meter_pb2.ListBudgetsRequest(workspace="acme"))).budgets
        assert (b.spent_micros, b.reserved_micros) == (3500, WORST)
        # 2*12500 - 3500 - 12500 = 9000 left: a smaller request fits, a full one does not.
        with pytest.raises(grpc.aio.AioRpcError):
            await meter.Admit(admit("s4"))
        small = await meter.Admit(admit("s5", max_tokens=500))
        assert small.reserved_micros == 7500 and small.remaining_micros == 1500
        assert small.budget == "key:k1:month" and small.completion_token_allowance == 500


async def test_release_gives_the_reservation_back_once(redis_client, redis_server):
    async with running_meter(redis_server.url) as meter:
        await set_budget(meter, WORST)
        await meter.Admit(admit("r1"))
        with pytest.raises(grpc.aio.AioRpcError):
            await meter.Admit(admit("r2"))
        released = await meter.Release(meter_pb2.ReleaseRequest(request_id="r1", workspace="acme", key_id="k1"))
        again = await meter.Release(meter_pb2.ReleaseRequest(request_id="r1", workspace="acme", key_id="k1"))
        assert (released.released_micros, again.released_micros) == (WORST, 0)
        assert (await meter.Admit(admit("r2"))).reserved_micros == WORST


async def test_admit_is_idempotent_by_request_id(redis_client, redis_server):
    async with running_meter(redis_server.url) as meter:
        await set_budget(meter, 2 * WORST)
        await meter.Admit(admit("same"))
        await meter.Admit(admit("same"))
        [b] = (await meter.ListBudgets(meter_pb2.ListBudgetsRequest(workspace="acme"))).budgets
        assert b.reserved_micros == WORST


async def test_unsettled_reservations_expire(redis_client, redis_server):
    async with running_meter(redis_server.url, reservation_ttl=0.2) as meter:
        await set_budget(meter, WORST)
        await meter.Admit(admit("lost"))
        with pytest.raises(grpc.aio.AioRpcError):
            await meter.Admit(admit("next"))
        await asyncio.sleep(0.3)
        assert (await meter.Admit(admit("next"))).reserved_micros == WORST


async def test_without_max_tokens_the_reservation_shrinks_to_what_is_left_and_says_how_many_tokens(
        redis_client, redis_server):
    async with running_meter(redis_server.url, default_max_tokens=4096) as meter:
        await set_budget(meter, 2500 + 3000)   # the prompt plus 300 completion tokens at $10/1M
        r = await meter.Admit(admit("open", max_tokens=0))
        assert r.reserved_micros == 5500 and r.remaining_micros == 0
        assert r.completion_token_allowance == 300   # the stream must end with budget_exceeded past this


async def test_budgets_the_caller_brings_apply_and_override_stored_ones(redis_client, redis_server):
    async with running_meter(redis_server.url) as meter:
        await set_budget(meter, 100 * WORST, kind=KEY, sid="k1")
        inline = [meter_pb2.Budget(kind=KEY, id="k1", period=DAY, limit_micros=WORST)]
        await meter.Admit(admit("i1", budgets=inline))
        with pytest.raises(grpc.aio.AioRpcError):
            await meter.Admit(admit("i2", budgets=inline))


async def test_budget_periods_roll_over(redis_client, redis_server):
    async with running_meter(redis_server.url) as meter:
        await set_budget(meter, WORST, period=MONTH)
        last_of_april, first_of_may = ms(2026, 4, 30, 23, 59), ms(2026, 5, 1, 0, 1)
        await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
            record("old", at_ms=last_of_april, prompt=1000, completion=1000, key_id="k1", workspace="acme")]))
        with pytest.raises(grpc.aio.AioRpcError):
            await meter.Admit(admit("april", at_ms=last_of_april))
        assert (await meter.Admit(admit("may", at_ms=first_of_may))).reserved_micros == WORST


async def test_callers_without_budgets_are_admitted_without_reservation(redis_client, redis_server):
    async with running_meter(redis_server.url) as meter:
        r = await meter.Admit(admit("free"))
        assert (r.model, r.reserved_micros, r.remaining_micros, r.completion_token_allowance) == ("gpt-4o", 0, -1, 0)
