"""The meter is unreachable: every budget scope (key, agent, fallback agent, workspace) fails closed at the
edge; a caller with no budget at all is served and each such request is logged."""
from __future__ import annotations

import grpc
import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from services.common.keystore import KeyRecord
from services.common.redis_server import free_port
from services.edge.admission import Admission, AgentPlan
from services.edge.auth import Principal
from services.edge.dialects.base import Parsed
from services.meter.budgets import BudgetStore
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2_grpc
from tokenyard.router.v1 import router_pb2


@pytest.fixture
async def dead_meter():
    """A meter stub whose address nobody listens on: every call is UNAVAILABLE."""
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    yield meter_pb2_grpc.MeterServiceStub(channel)
    await channel.close()


def principal(budget_micros: int | None = None) -> Principal:
    record = KeyRecord(key_id="k1", workspace="acme", budget_micros=budget_micros)
    return Principal(common_pb2.Caller(key_id="k1", workspace="acme"), record)


def parsed(rid: str = "req_1") -> Parsed:
    return Parsed(router_pb2.ChatRequest(request_id=rid, model="gpt-4o", max_tokens=10,
                                         caller=common_pb2.Caller(key_id="k1", workspace="acme")), False, False, 50)


async def _admit(admission: Admission, who: Principal, plan: AgentPlan | None = None):
    return await admission.admit(who, parsed(), plan)


@pytest.mark.parametrize("kind, sid", [("workspace", "acme"), ("agent", "ag"), ("agent", "backup"), ("key", "k1")])
async def test_a_stored_budget_of_any_scope_refuses_while_the_meter_is_down(redis_client, dead_meter, kind, sid):
    await BudgetStore(redis_client).set_limit("acme", kind, sid, "day", 5_000_000)
    plan = AgentPlan(agent_id="ag", workspace="acme", fallbacks=("backup",), models=("gpt-4o",))
    refused = await _admit(Admission(dead_meter, redis_client, timeout=0.5), principal(), plan)
    assert isinstance(refused, tuple) and refused[0] == 503 and refused[1]["code"] == "budget_unavailable"


async def test_a_keys_own_budget_refuses_while_the_meter_is_down(redis_client, dead_meter):
    refused = await _admit(Admission(dead_meter, redis_client, timeout=0.5), principal(budget_micros=0))
    assert isinstance(refused, tuple) and refused[0] == 503


async def test_without_any_budget_the_call_is_served_and_logged(redis_client, dead_meter):
    await BudgetStore(redis_client).set_limit("elsewhere", "workspace", "elsewhere", "day", 1)
    with capture_logs() as logs:
        admitted = await _admit(Admission(dead_meter, redis_client, timeout=0.5), principal())
    assert not isinstance(admitted, tuple) and admitted.remaining_micros == -1
    assert [e["request_id"] for e in logs if e["event"] == "meter_unreachable_admitting_unbudgeted"] == ["req_1"]


async def test_when_neither_meter_nor_redis_answers_the_call_is_refused(dead_meter):
    gone = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    try:
        refused = await _admit(Admission(dead_meter, gone, timeout=0.5), principal())
    finally:
        await gone.aclose()
    assert isinstance(refused, tuple) and refused[0] == 503
