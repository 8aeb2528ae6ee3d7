"""The meter keys money and usage by (key id, server request id); attempts of a request are billed as
detail; a budget of 0 admits nothing; agent calls reserve over every model and agent that may answer."""
from __future__ import annotations

import time

import grpc
import pytest

from tests.integration.meter_support import record, running_meter
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2

KEY, AGENT, WORKSPACE = meter_pb2.SUBJECT_KIND_KEY, meter_pb2.SUBJECT_KIND_AGENT, meter_pb2.SUBJECT_KIND_WORKSPACE
MONTH, DAY = meter_pb2.PERIOD_MONTH, meter_pb2.PERIOD_DAY


async def set_budget(stub, limit: int, kind=WORKSPACE, sid="acme", remove: bool = False) -> None:
    await stub.SetBudget(meter_pb2.SetBudgetRequest(budget=meter_pb2.Budget(
        kind=kind, id=sid, workspace="acme", period=MONTH, limit_micros=limit), remove=remove))


def admit(rid: str, key_id: str = "k1", model: str = "gpt-4o", **kw) -> meter_pb2.AdmitRequest:
    return meter_pb2.AdmitRequest(caller=common_pb2.Caller(key_id=key_id, workspace="acme"), request_id=rid,
                                  model=model, prompt_tokens=1000, max_tokens=1000, **kw)


async def test_one_request_id_under_two_keys_is_two_requests(redis_client, redis_server):
    async with running_meter(redis_server.url) as meter:
        now = int(time.time() * 1000)
        reply = await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
            record("same", at_ms=now, key_id="ka", workspace="acme"),
            record("same", at_ms=now, key_id="kb", workspace="acme")]))
        assert (reply.recorded, reply.duplicates) == (2, 0)
        totals = (await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, workspace="acme"))).totals
        assert totals.requests == 2
        # Reservations too: one key's id cannot take or settle another key's reservation.
        await set_budget(meter, 1_000_000)
        a = await meter.Admit(admit("r", key_id="ka"))
        b = await meter.Admit(admit("r", key_id="kb"))
        assert a.reserved_micros == b.reserved_micros == 12_500
        released = await meter.Release(meter_pb2.ReleaseRequest(request_id="r", workspace="acme", key_id="ka"))
        assert released.released_micros == 12_500
        [budget] = (await meter.ListBudgets(meter_pb2.ListBudgetsRequest(workspace="acme"))).budgets
        assert budget.reserved_micros == 12_500


async def test_a_losing_hedge_is_billed_but_counts_no_request_and_keeps_the_reservation(redis_client, redis_server):
    async with running_meter(redis_server.url) as meter:
        await set_budget(meter, 1_000_000)
        now = int(time.time() * 1000)
        await meter.Admit(admit("h1"))
        loser = record("h1-hedge1", at_ms=now, prompt=1000, completion=0, key_id="k1", workspace="acme",
                       status="hedge_lost")
        loser.attempt_of = "h1"
        await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[loser]))
        [budget] = (await meter.ListBudgets(meter_pb2.ListBudgetsRequest(workspace="acme"))).budgets
        assert (budget.spent_micros, budget.reserved_micros) == (2_500, 12_500)
        winner = record("h1", at_ms=now, prompt=1000, completion=100, key_id="k1", workspace="acme")
        winner.attempts, winner.hedges = 2, 1
        await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[winner]))
        [budget] = (await meter.ListBudgets(meter_pb2.ListBudgetsRequest(workspace="acme"))).budgets
        assert (budget.spent_micros, budget.reserved_micros) == (2_500 + 3_500, 0)
        t = (await meter.GetUsage(meter_pb2.GetUsageRequest(period=DAY, workspace="acme", key_id="k1"))).totals
        assert (t.requests, t.errors, t.attempts, t.hedges, t.prompt_tokens, t.cost_micros) == (1, 0, 2, 1, 2000, 6000)


async def test_a_budget_of_zero_admits_nothing_and_removing_it_admits_again(redis_client, redis_server):
    async with running_meter(redis_server.url) as meter:
        await set_budget(meter, 0, kind=AGENT, sid="ag")
        caller = common_pb2.Caller(key_id="k1", workspace="acme", agent_id="ag")
        free = meter_pb2.AdmitRequest(caller=caller, request_id="z1", model="free-model", prompt_tokens=10)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await meter.Admit(free)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        [budget] = (await meter.ListBudgets(meter_pb2.ListBudgetsRequest(workspace="acme"))).budgets
        assert budget.limit_micros == 0
        await set_budget(meter, 0, kind=AGENT, sid="ag", remove=True)
        assert not (await meter.ListBudgets(meter_pb2.ListBudgetsRequest(workspace="acme"))).budgets
        assert (await meter.Admit(free)).remaining_micros == -1
        # A key budget of 0 brought along by the edge binds the same way.
        inline = meter_pb2.AdmitRequest(caller=caller, request_id="z2", model="free-model", prompt_tokens=10)
        inline.budgets.add(kind=KEY, id="k1", workspace="acme", period=MONTH, limit_micros=0)
        with pytest.raises(grpc.aio.AioRpcError):
            await meter.Admit(inline)


async def test_an_agent_call_reserves_the_dearest_model_against_every_agent_that_may_answer(
        redis_client, redis_server):
    async with running_meter(redis_server.url) as meter:
        await set_budget(meter, 12_000, kind=AGENT, sid="backup")
        caller = common_pb2.Caller(key_id="k1", workspace="acme", agent_id="primary")
        # The primary's own model is cheap (gpt-4o-mini, 750 worst case); its fallback may answer on gpt-4o.
        req = meter_pb2.AdmitRequest(caller=caller, request_id="ag1", model="gpt-4o-mini", prompt_tokens=1000,
                                     max_tokens=1000, fallback_agent_ids=["backup"],
                                     candidate_models=["gpt-4o-mini", "gpt-4o"])
        with pytest.raises(grpc.aio.AioRpcError):
            await meter.Admit(req)  # 12_500 worst case does not fit the fallback agent's 12_000
        await set_budget(meter, 13_000, kind=AGENT, sid="backup")
        assert (await meter.Admit(req)).reserved_micros == 12_500
        [budget] = (await meter.ListBudgets(meter_pb2.ListBudgetsRequest(workspace="acme"))).budgets
        assert (budget.id, budget.reserved_micros) == ("backup", 12_500)
