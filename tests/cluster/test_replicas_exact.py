"""3 edges, 2 routers and 2 meters on one Redis Cluster add up exactly: limits, budgets, breakers, revocation."""
from __future__ import annotations

import secrets

import httpx
import pytest

from bench import replicas

pytestmark = pytest.mark.cluster
MASTER_KEY = "ty-test-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    cluster, mesh = replicas.start(tmp_path_factory.mktemp("replicas"), MASTER_KEY)
    yield mesh.edges
    mesh.stop()
    cluster.stop()


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=400)) as c:
        yield c


async def test_rpm_60_admits_exactly_60_of_200_concurrent_requests_over_three_edges(edges, client):
    got = await replicas.rpm_exactness(client, edges, MASTER_KEY, rpm=60, n=200)
    # Exactly the limit: 60 at once, plus the one per second it refills while this box works through the
    # burst (none when the burst fits in a second). Never one more, whichever edge a request reached.
    assert 60 <= got["admitted"] <= got["allowed"], got
    assert got["refused_429"] == 200 - got["admitted"] and got["other"] == 0


async def test_a_budget_for_ten_requests_admits_ten_of_fifty(edges, client):
    got = await replicas.budget_exactness(client, edges, MASTER_KEY, requests=10, n=50)
    assert 10 <= got["admitted"] <= 11 and got["other"] == 0   # 10, or 11 if one settled below its worst case
    assert got["refusals"] == ["budget_exceeded"]


async def test_a_breaker_opened_by_one_router_stops_the_other_routers_next_request(edges, client):
    got = await replicas.breaker_shared(client, edges, MASTER_KEY)
    assert got["opened_after_requests"] is not None
    assert (got["other_router_status"], got["other_router_code"]) == (503, "upstreams_unavailable")


async def test_a_revoked_key_is_refused_by_every_edge_within_its_cache_ttl(edges, client):
    got = await replicas.revocation_delay(client, edges, MASTER_KEY)
    # The edges cache a key for 1 s; the 0.5 s on top is this shared 2-core box's scheduling slack.
    assert got["max_s"] < 1.5, got
