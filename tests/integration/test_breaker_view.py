"""The breaker's short local view of Redis: bounded staleness, and never used after a failure seen here."""
import time

from services.router.breaker import BreakerStore, key
from services.router.policy import BreakerPolicy


class Clock:
    """This replica's clock, moved by hand; it starts at the real time because Redis's clock (the one the
    shared breaker state runs on) does."""

    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


async def _opened_elsewhere(redis_client, name: str, clock: Clock) -> None:
    """Another replica opened the breaker for a long cooldown."""
    await redis_client.hset(key(name), mapping={"st": "open", "until": (clock.t + 600) * 1000})


async def test_another_replicas_open_breaker_stops_calls_within_the_view_ttl(redis_client):
    clock = Clock()
    store = BreakerStore(redis_client, BreakerPolicy(), clock=clock, view_ttl=0.25)
    assert (await store.acquire(["a"]))[0] == "a"  # Redis says closed: remembered for 0.25 s
    await _opened_elsewhere(redis_client, "a", clock)
    clock.t += 0.2
    assert (await store.acquire(["a"]))[0] == "a"  # within the documented staleness bound
    clock.t += 0.1
    chosen, reopen = await store.acquire(["a"])
    assert chosen is None and reopen is not None and store.seen["a"][0] == "open"


async def test_a_failure_seen_here_sends_the_next_attempt_to_redis(redis_client):
    clock = Clock()
    store = BreakerStore(redis_client, BreakerPolicy(), clock=clock, view_ttl=10.0)
    assert (await store.acquire(["a", "b"]))[0] == "a"
    await _opened_elsewhere(redis_client, "a", clock)
    store.record("a", False, "http_5xx")
    assert (await store.acquire(["a", "b"]))[0] == "b"


async def test_with_no_view_every_attempt_asks_redis(redis_client):
    clock = Clock()
    store = BreakerStore(redis_client, BreakerPolicy(), clock=clock, view_ttl=0.0)
    assert (await store.acquire(["a"]))[0] == "a"
    await _opened_elsewhere(redis_client, "a", clock)
    assert (await store.acquire(["a"]))[0] is None


async def test_successes_written_together_count_each_call_and_a_failure_still_counts(redis_client):
    clock = Clock()
    store = BreakerStore(redis_client, BreakerPolicy(), clock=clock)
    store.start()
    try:
        for i in range(5):  # queued before the writer runs: one folded script call
            store.record("a", True, latency=0.1 * (i + 1), ttft=0.05)
        store.record("a", False, "http_5xx")
        store.record("a", True, latency=0.2)
        await store.flush()
        h = {k.decode(): v.decode() for k, v in (await redis_client.hgetall(key("a"))).items()}
        assert int(h["ok"]) == 6 and int(h["fail"]) == 1
        assert sum(int(h.get(f"n{i}", 0)) for i in range(6)) == 7
        assert int(h["cf"]) == 0  # the success after the failure reset the consecutive count
        assert 200 <= float(h["lat"]) <= 500  # an average of the calls' latencies (ms), not one of them
    finally:
        await store.aclose()


async def _field(redis_client, name: str, field: str) -> int:
    return int(await redis_client.hget(key(name), field) or 0)


async def test_a_failure_is_shared_at_once_while_successes_wait_for_the_linger(redis_client):
    import asyncio

    store = BreakerStore(redis_client, BreakerPolicy(), clock=Clock(), linger=30.0)
    store.start()
    try:
        store.record("a", True, latency=0.1)
        await asyncio.sleep(0.2)
        assert await _field(redis_client, "a", "ok") == 0  # still lingering for company
        store.record("a", False, "http_5xx")
        for _ in range(100):  # the failure does not wait 30 s, and takes the queued success with it
            if await _field(redis_client, "a", "fail") == 1:
                break
            await asyncio.sleep(0.02)
        assert (await _field(redis_client, "a", "fail"), await _field(redis_client, "a", "ok")) == (1, 1)
        store.record("a", True, latency=0.1)
    finally:
        await store.aclose()  # writes what lingers instead of dropping it
    assert await _field(redis_client, "a", "ok") == 2


async def test_a_replica_whose_clock_runs_ahead_does_not_reopen_a_breaker_early(redis_client):
    """Replica A opens the breaker (cooldown 30 s); replica B's clock is 60 s ahead. Redis's clock decides
    the cooldown, so B is refused too (before, B's own clock said the cooldown was over and it probed)."""
    policy = BreakerPolicy()
    a = BreakerStore(redis_client, policy, clock=time.time)
    ahead = Clock()
    ahead.t += 60
    b = BreakerStore(redis_client, policy, clock=ahead, view_ttl=0.0)
    a.start()
    try:
        for _ in range(policy.consecutive):
            a.record("skew", False, "http_5xx")
            await a.flush()
        assert (await redis_client.hget(key("skew"), "st")) == b"open"
        chosen, reopen = await b.acquire(["skew"])
        assert chosen is None and (await redis_client.hget(key("skew"), "st")) == b"open"
        assert reopen is not None and 0 < reopen - ahead.t <= policy.cooldown + 1  # in B's own time
    finally:
        await a.aclose()
