"""Managed tiers through the meter's gRPC API: tier routing, monthly quota, overage policies log/degrade/block."""
from __future__ import annotations

import grpc
import pytest
from structlog.testing import capture_logs

from services.common.errors import MD_ERROR_CODE, MD_HTTP_STATUS
from tests.integration.meter_support import metadata_of, ms, record, running_meter
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2

AT = ms(2026, 6, 15, 12)


def tiers(policy: str) -> dict:
    return {"economy": {"model": "MiniMax-M2.5", "monthly_tokens": 1000, "price_usd": 5, "overage_policy": policy},
            "standard": {"model": "gpt-4o-mini", "monthly_tokens": 1000, "price_usd": 10, "overage_policy": policy},
            "premium": {"model": "gpt-4o", "monthly_tokens": 1000, "price_usd": 20, "overage_policy": policy}}


def caller(tier: str, agent: str = "") -> common_pb2.Caller:
    return common_pb2.Caller(key_id="k1", workspace="acme", agent_id=agent, tier=tier)


def admit(model: str, who: common_pb2.Caller, rid: str = "a1", at: int = AT) -> meter_pb2.AdmitRequest:
    return meter_pb2.AdmitRequest(caller=who, request_id=rid, model=model, prompt_tokens=10, max_tokens=10, at_ms=at)


async def use(meter, who: common_pb2.Caller, tokens: int, rid: str, model: str = "gpt-4o-mini", at: int = AT):
    await meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[
        record(rid, at_ms=at, model=model, prompt=tokens, completion=0, key_id=who.key_id, workspace=who.workspace,
               agent_id=who.agent_id, tier=who.tier)]))


async def test_tier_routing_picks_the_tiers_model(redis_client, redis_server):
    async with running_meter(redis_server.url, tiers("log")) as meter:
        r = await meter.Admit(admit("tier/standard", caller("standard")))
        assert (r.model, r.tier, r.served_tier, r.degraded) == ("gpt-4o-mini", "standard", "standard", False)
        # An agent on a tier that names no model gets its tier's model.
        r = await meter.Admit(admit("", caller("premium", agent="bot")))
        assert r.model == "gpt-4o"
        # A cheaper tier is allowed; a dearer one is not; a model by name is routed as asked.
        assert (await meter.Admit(admit("tier/economy", caller("standard")))).model == "MiniMax-M2.5"
        assert (await meter.Admit(admit("gpt-4o", caller("economy")))).model == "gpt-4o"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await meter.Admit(admit("tier/premium", caller("economy")))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert metadata_of(err.value)[MD_ERROR_CODE] == "tier_not_allowed"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await meter.Admit(admit("tier/gold", caller("economy")))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_policy_log_serves_over_quota_and_records_the_overage(redis_client, redis_server):
    async with running_meter(redis_server.url, tiers("log")) as meter:
        who = caller("standard")
        await use(meter, who, 800, "u1")
        with capture_logs() as logs:
            await use(meter, who, 300, "u2")          # crosses 1000 by 100
            await use(meter, who, 300, "u2")          # re-sent: no second overage
        over = [e for e in logs if e["event"] == "tier_overage"]
        assert len(over) == 1 and over[0]["tokens_over"] == 100 and over[0]["subject"] == "key:k1"
        r = await meter.Admit(admit("tier/standard", who, rid="after"))
        assert r.over_quota and not r.degraded and r.model == "gpt-4o-mini"
        t = await meter.GetTiers(meter_pb2.GetTiersRequest(workspace="acme", at_ms=AT))
        assert t.month == "2026-06" and [x.name for x in t.tiers] == ["economy", "standard", "premium"]
        [s] = t.subjects
        assert (s.tier, s.subject, s.tokens_used, s.tokens_over) == ("standard", "key:k1", 1100, 100)
        # 300 tokens of gpt-4o-mini input cost 45 micro-dollars; 100 of them are over: 15.
        assert s.overage_cost_micros == 15
        [o] = t.overages
        assert (o.request_id, o.tokens_over, o.cost_micros) == ("u2", 100, 15)
        everything = await meter.GetTiers(meter_pb2.GetTiersRequest(at_ms=AT))
        assert [s.workspace for s in everything.subjects] == ["acme"]


async def test_policy_degrade_routes_tier_requests_to_the_next_cheaper_tier(redis_client, redis_server):
    async with running_meter(redis_server.url, tiers("degrade")) as meter:
        who = caller("premium", agent="bot")
        await use(meter, who, 1000, "u1")
        r = await meter.Admit(admit("tier/premium", who))
        assert (r.model, r.served_tier, r.degraded, r.over_quota) == ("gpt-4o-mini", "standard", True, True)
        # The quota belongs to the agent: the same key without the agent is still within its quota.
        assert (await meter.Admit(admit("tier/premium", caller("premium"), rid="a2"))).model == "gpt-4o"


async def test_policy_block_refuses_with_insufficient_quota_until_next_month(redis_client, redis_server):
    async with running_meter(redis_server.url, tiers("block")) as meter:
        who = caller("economy")
        await use(meter, who, 999, "u1")
        assert (await meter.Admit(admit("tier/economy", who))).model == "MiniMax-M2.5"
        await use(meter, who, 1, "u2")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await meter.Admit(admit("tier/economy", who, rid="a2"))
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        md = metadata_of(err.value)
        assert (md[MD_ERROR_CODE], md[MD_HTTP_STATUS]) == ("insufficient_quota", "429")
        next_month = ms(2026, 7, 1, 0, 0, 1)
        assert (await meter.Admit(admit("tier/economy", who, rid="a3", at=next_month))).model == "MiniMax-M2.5"
