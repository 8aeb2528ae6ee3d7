"""A master dies, its replica takes over: limits, budgets, usage and breakers carry on, nothing lost or doubled.

Each test aims every key it uses at one master (names chosen by slot), kills that master with SIGKILL,
and lets its replica take over: automatically (cluster-node-timeout 1 s) or at once with
CLUSTER FAILOVER TAKEOVER. Calls in between fail as Redis-unavailable (never as a wrong answer); after
the promotion the counts continue exactly where they stood. The seconds measured are printed (`-s`).
"""
from __future__ import annotations

import time
from datetime import UTC, datetime

import grpc
import pytest

from services.common import redis_conn, redis_probe
from services.edge.ratelimit import RateLimiter
from services.meter import keys
from services.router.breaker import BreakerStore, key as breaker_key
from services.router.policy import BreakerPolicy
from tests.cluster.conftest import on_master, until_ok
from tests.integration.meter_support import record, running_meter
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2

pytestmark = pytest.mark.cluster
WORST = 12_500  # gpt-4o, 1000 prompt + 1000 max tokens (meter_support's prices)


async def test_limits_budgets_and_usage_continue_exactly_across_an_automatic_failover(own_cluster):
    now_ms = int(time.time() * 1000)
    victim = own_cluster.master_of(keys.day_tag(datetime.now(UTC).date()))   # today's usage lives here
    ws = on_master(own_cluster, victim, keys.ws_tag)                          # and this workspace's money
    subject = "key:" + on_master(own_cluster, victim, lambda n: f"ty:{{rl:key:{n}}}:rpm")
    edge = redis_conn.connect(own_cluster.url)
    limiter = RateLimiter(edge, lambda: now_ms)
    caller = common_pb2.Caller(key_id="k1", workspace=ws)
    try:
        async with running_meter(own_cluster.url) as meter:
            await meter.SetBudget(meter_pb2.SetBudgetRequest(budget=meter_pb2.Budget(
                kind=meter_pb2.SUBJECT_KIND_WORKSPACE, id=ws, workspace=ws, period=meter_pb2.PERIOD_MONTH,
                limit_micros=10 * WORST)))

            async def admit(i: int) -> bool:
                try:
                    await meter.Admit(meter_pb2.AdmitRequest(caller=caller, request_id=f"b{i}", model="gpt-4o",
                                                             prompt_tokens=1000, max_tokens=1000), timeout=5)
                    return True
                except grpc.aio.AioRpcError as err:
                    if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                        return False
                    raise

            def usage(i: int) -> meter_pb2.RecordUsageRequest:   # b<i> really used 1000 + 100 tokens: 3500
                return meter_pb2.RecordUsageRequest(records=[record(f"b{i}", at_ms=now_ms, prompt=1000,
                                                                    completion=100, key_id="k1", workspace=ws)])

            before = [(await limiter.admit(subject, 10, 0, 0)).allowed for _ in range(4)]
            admitted = [await admit(i) for i in range(4)]
            for i in range(2):
                await meter.RecordUsage(usage(i))
            assert before == [True] * 4 and admitted == [True] * 4

            own_cluster.kill(victim)
            killed = time.monotonic()
            # Automatic failover: the replica is promoted once the others agree the master is gone.
            first, failed, _ = await until_ok(lambda: limiter.admit(subject, 10, 0, 0))
            recovered = time.monotonic() - killed
            after = [first.allowed] + [(await limiter.admit(subject, 10, 0, 0)).allowed for _ in range(19)]
            assert sum(before) + sum(after) == 10                    # RPM 10: 4 before, exactly 6 after

            async def send_usage(i: int):
                try:
                    return await meter.RecordUsage(usage(i), timeout=5)
                except grpc.aio.AioRpcError as err:             # the meter says UNAVAILABLE: retry later
                    assert err.code() == grpc.StatusCode.UNAVAILABLE
                    raise redis_conn.UNAVAILABLE[0](err.details()) from None

            for i in (1, 2, 3):                                      # b1 again (a retry), b2 and b3 new
                await until_ok(lambda: send_usage(i))
            more = [await admit(i) for i in range(4, 20)]
            # 10 x 12,500 = 125,000 budget; b0-b3 settled to 3,500 each (14,000 spent, b1 once although sent
            # twice, none of the four reservations left behind), so exactly 8 more worst cases fit.
            [b] = (await meter.ListBudgets(meter_pb2.ListBudgetsRequest(workspace=ws))).budgets
            assert sum(more) == 8
            assert (b.spent_micros, b.reserved_micros) == (4 * 3500, 8 * WORST)
            got = await meter.GetUsage(meter_pb2.GetUsageRequest(period=meter_pb2.PERIOD_DAY, at_ms=now_ms,
                                                                 key_id="k1"))
            assert got.totals.requests == 4 and got.totals.cost_micros == 4 * 3500
    finally:
        await edge.aclose()
    print(f"\nautomatic failover: Redis answered again {recovered:.2f} s after the kill ({failed} calls refused)")


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


async def test_a_breaker_opened_before_a_takeover_stays_open_for_every_router(own_cluster):
    victim = own_cluster.master_of(breaker_key("dep-a"))
    [replica] = own_cluster.replicas_of(victim)
    policy = BreakerPolicy(consecutive=3, cooldown=60.0)
    a_client, b_client = redis_conn.connect(own_cluster.url), redis_conn.connect(own_cluster.url)
    clock = Clock()
    a = BreakerStore(a_client, policy, view_ttl=0.0)
    b = BreakerStore(b_client, policy, clock=clock, view_ttl=0.0)
    a.start()
    try:
        assert (await b.acquire(["dep-a"]))[0] == "dep-a"
        for _ in range(3):
            assert (await a.acquire(["dep-a"]))[0] == "dep-a"
            a.record("dep-a", False, "http_5xx")
        await a.flush()
        assert (await b.acquire(["dep-a", "dep-b"]))[0] == "dep-b"   # router B honours A's open breaker

        own_cluster.kill(victim)
        assert (await redis_probe.probe(b_client, timeout=5))[0] != redis_probe.OK   # /readyz: not ready
        killed = time.monotonic()
        own_cluster.failover(replica)                                 # CLUSTER FAILOVER TAKEOVER
        promoted = time.monotonic() - killed
        asked = 0
        while True:                     # B falls back to local state for `retry_after` after a failed call
            chosen, _ = await b.acquire(["dep-a", "dep-b"])
            asked += 1
            if not b.degraded:
                break
            assert asked < 50, "the breaker store never reached the promoted replica"
            clock.t += 1.1
        recovered = time.monotonic() - killed
        assert chosen == "dep-b"                                      # still open, as read from Redis
        assert b.seen["dep-a"][0] == "open"
        assert (await redis_probe.probe(b_client, timeout=5))[0] == redis_probe.OK
    finally:
        await a.aclose()
        await a_client.aclose()
        await b_client.aclose()
    print(f"\ntakeover: promoted {promoted:.2f} s after the command, shared breaker state read again after "
          f"{recovered:.2f} s ({asked - 1} calls answered from local state meanwhile)")
