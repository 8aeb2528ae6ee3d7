"""Load balancing, hedging and failover under load, against fault-injecting upstreams."""
from __future__ import annotations

import asyncio

from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router


async def test_a_hedge_wins_against_a_slow_primary_and_both_calls_are_metered(redis_client):
    slow, fast = await FaultUpstream("slow", ttft=3.0).start(), await FaultUpstream("fast").start()
    routing = {"hedge_budget": 0.5, "groups": {"m": {"strategy": "priority", "hedge": {"delay": 0.1, "max": 1}}}}
    r = await start_router([openai_dep("slow", slow, ["m"]), openai_dep("fast", fast, ["m"])], routing,
                           redis=redis_client)
    try:
        text, final = await r.chat("m", request_id="req-hedge")
        assert text.startswith("fast0")  # never a mix of the two answers
        assert (final.deployment, final.hedges, list(final.tried_deployments)) == ("fast", 1, ["slow", "fast"])
        await r.wait_records(2)
        assert set(r.meter.records) == {"req-hedge", "req-hedge-hedge1"}
        assert r.meter.records["req-hedge"].deployment == "fast"
        loser = r.meter.records["req-hedge-hedge1"]
        assert loser.deployment == "slow" and loser.status == "hedge_lost" and loser.usage.prompt_tokens > 0
        # The loser is billed as an attempt of the request; the request's own record carries the detail.
        assert loser.attempt_of == "req-hedge"
        assert (r.meter.records["req-hedge"].attempts, r.meter.records["req-hedge"].hedges) == (2, 1)
        for _ in range(50):  # the losing upstream call was cancelled, not left running
            if slow.calls[0].cancelled:
                break
            await asyncio.sleep(0.02)
        assert slow.calls[0].cancelled
    finally:
        await r.stop()
        await slow.stop()
        await fast.stop()


async def test_hedges_stay_within_the_global_budget(redis_client):
    slow, other = await FaultUpstream("slow", ttft=0.15).start(), await FaultUpstream("other", ttft=0.15).start()
    routing = {"hedge_budget": 0.1, "groups": {"m": {"strategy": "priority", "hedge": {"delay": 0.01}}}}
    r = await start_router([openai_dep("slow", slow, ["m"]), openai_dep("other", other, ["m"])], routing,
                           redis=redis_client)
    try:
        finals = [(await r.chat("m"))[1] for _ in range(20)]
        hedges = sum(f.hedges for f in finals)
        assert 1 <= hedges <= 1 + 20 * 0.1  # one saved up at start, then 10% of calls
    finally:
        await r.stop()
        await slow.stop()
        await other.stop()


async def test_with_one_slow_and_one_fast_deployment_most_load_goes_to_the_fast_one(redis_client):
    slow, fast = await FaultUpstream("slow", ttft=0.12).start(), await FaultUpstream("fast").start()
    r = await start_router([openai_dep("slow", slow, ["m"]), openai_dep("fast", fast, ["m"])], {},
                           redis=redis_client)
    try:
        async def worker(n: int) -> None:
            for _ in range(n):
                await r.chat("m")

        await asyncio.gather(*(worker(15) for _ in range(4)))
        assert fast.count() + slow.count() == 60
        assert fast.count() / 60 >= 0.8, (fast.count(), slow.count())
    finally:
        await r.stop()
        await slow.stop()
        await fast.stop()


async def test_killing_one_of_two_upstreams_during_200_requests_gives_no_client_errors(redis_client):
    a, b = await FaultUpstream("a").start(), await FaultUpstream("b").start()
    routing = {"retry": {"attempts": 3, "base": 0.01, "cap": 0.05}}
    r = await start_router([openai_dep("a", a, ["m"]), openai_dep("b", b, ["m"])], routing, redis=redis_client)
    errors, done = [], 0
    try:
        async def worker() -> None:
            nonlocal done
            for _ in range(25):
                try:
                    text, final = await r.chat("m")
                    assert final.error.code == "" and text
                except Exception as exc:  # noqa: BLE001 - any failure is a client-visible error
                    errors.append(repr(exc))
                done += 1

        workers = [asyncio.ensure_future(worker()) for _ in range(8)]
        while done < 60:
            await asyncio.sleep(0.005)
        await a.stop()  # upstream a dies mid-run
        await asyncio.gather(*workers)
        assert done == 200 and errors == []
        assert b.count() > 0 and a.count() > 0
    finally:
        await r.stop()
        await b.stop()
