"""GCRA limits on a real Redis: bursts, refusals that cost nothing, refill, settlement."""
from __future__ import annotations

from services.edge.ratelimit import RateLimiter


class Clock:
    """A shift of Redis's clock: moving it on lets time pass without waiting."""

    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> int:
        return self.ms


async def test_rpm_burst_then_refill(redis_client):
    clock = Clock()
    limiter = RateLimiter(redis_client, clock)
    results = [(await limiter.admit("k1", 6, 0, 0)).allowed for _ in range(8)]
    assert results == [True] * 6 + [False] * 2
    refused = await limiter.admit("k1", 6, 0, 0)
    assert refused.headers["x-ratelimit-remaining-requests"] == "0" and int(refused.headers["Retry-After"]) == 10
    clock.ms += 10_000  # one request's worth of refill (60 s / 6)
    assert (await limiter.admit("k1", 6, 0, 0)).allowed
    assert not (await limiter.admit("k1", 6, 0, 0)).allowed


async def test_tpm_only_and_settlement(redis_client):
    limiter = RateLimiter(redis_client, Clock())
    first = await limiter.admit("k2", 0, 1000, 800)
    assert first.allowed and first.headers["x-ratelimit-remaining-tokens"] == "200"
    assert "x-ratelimit-limit-requests" not in first.headers
    assert not (await limiter.admit("k2", 0, 1000, 300)).allowed
    await limiter.settle("k2", 1000, -700)  # the call used 100 tokens, not 800
    second = await limiter.admit("k2", 0, 1000, 300)
    assert second.allowed and second.headers["x-ratelimit-remaining-tokens"] == "600"


async def test_a_refused_request_charges_neither_limit(redis_client):
    limiter = RateLimiter(redis_client, Clock())
    assert (await limiter.admit("k3", 10, 100, 90)).allowed
    refused = await limiter.admit("k3", 10, 100, 50)
    assert not refused.allowed
    assert refused.headers["x-ratelimit-remaining-requests"] == "9"
    assert refused.headers["x-ratelimit-remaining-tokens"] == "10"


async def test_agent_limit_is_shared_by_its_keys_and_refusals_refund_the_key(redis_client):
    from services.common.keystore import KeyRecord
    from services.edge.auth import Principal
    from services.edge.limits import AgentLimit, AgentLimitStore, Limits
    from tokenyard.common.v1 import common_pb2

    clock = Clock()
    limiter = RateLimiter(redis_client, clock)
    store = AgentLimitStore(redis_client, cache_ttl=0)
    await store.set("ag1", AgentLimit(rpm=3))
    limits = Limits(limiter, store)

    def principal(key_id: str) -> Principal:
        record = KeyRecord(key_id=key_id, workspace="w", agent_id="ag1", rpm=100)
        return Principal(common_pb2.Caller(key_id=key_id, workspace="w", agent_id="ag1"), record)

    a, b = principal("ka"), principal("kb")
    outcomes = [await limits.admit(p, 10, {}) for p in (a, b, a, b)]
    assert outcomes[:3] == [None, None, None]
    assert outcomes[3]["code"] == "rate_limit_exceeded" and "agent" in outcomes[3]["message"]
    # kb's own limit was refunded for the refused request: it has used 1 of 100, not 2.
    assert (await limiter.admit("kb", 100, 0, 0)).headers["x-ratelimit-remaining-requests"] == "98"


async def test_replicas_with_skewed_clocks_share_one_limit(redis_client, monkeypatch):
    """Two edges, the second one's clock a minute ahead: the limit holds across both, because Redis's
    clock decides (before, each replica's own clock did, and the one ahead admitted the whole limit again)."""
    import time

    behind, ahead = RateLimiter(redis_client), RateLimiter(redis_client)
    assert [(await behind.admit("k-skew", 2, 0, 0)).allowed for _ in range(2)] == [True, True]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61)  # this replica's clock is skewed
    assert not (await ahead.admit("k-skew", 2, 0, 0)).allowed
    refused = await ahead.admit("k-skew", 2, 0, 0)
    assert int(refused.headers["Retry-After"]) in range(25, 31)  # Redis's minute, not the skewed one
