"""A deployment whose breaker opened gets its half-open probe after the cooldown even while a sibling
is healthy, and is back in rotation once the probe succeeds (issue 17, item 2). Time is injected: the
breaker's clock and the balancer's decay move only when the test says so."""
from __future__ import annotations

import time

from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router

ROUTING = {"breaker": {"consecutive": 3, "cooldown": 30}, "cooldown_wait": 0,
           "retry": {"attempts": 2, "base": 0.001, "cap": 0.001}}


class Clock:
    def __init__(self) -> None:
        self.now, self.mono = time.time(), 1000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


async def test_a_recovered_deployment_gets_its_probe_and_traffic_while_its_sibling_is_healthy(redis_client):
    sick, healthy = await FaultUpstream("sick", status=503).start(), await FaultUpstream("healthy").start()
    clock = Clock()
    start = clock.now
    r = await start_router([openai_dep("sick", sick, ["m"]), openai_dep("healthy", healthy, ["m"])], ROUTING,
                           redis=redis_client, clock=clock.time, monotonic=clock.monotonic,
                           shift_ms=lambda: int((clock.now - start) * 1000))  # Redis's clock moves with it
    try:
        for _ in range(200):
            await r.chat("m")  # sick fails first when p2c picks it; healthy answers: clients never notice
            await r.app.breakers.flush()
            if r.app.breakers.seen.get("sick/m", ("closed",))[0] == "open":
                break
            clock.advance(5)  # lets its failure penalty decay, so p2c tries it again
        assert r.app.breakers.seen["sick/m"][0] == "open"
        sick.status = 0  # it recovers; its breaker is still open for 30 s
        calls_when_recovered = sick.count()
        clock.advance(45)  # past the 30 s cooldown (Redis's own clock also runs on in real time)
        served = []
        for _ in range(348):  # the figure: 348 requests in the 95 s after recovery
            text, final = await r.chat("m")
            served.append(final.deployment)
            clock.advance(95 / 348)
        await r.app.breakers.flush()
        print(f"item 2 figure: {served.count('sick')} of 348 requests went to the recovered deployment in 95 s")
        assert served[0] == "sick"  # the probe goes first, though healthy was up all along
        assert r.app.breakers.seen["sick/m"][0] == "closed"
        assert sick.count() - calls_when_recovered == served.count("sick")
        assert served.count("sick") >= 348 // 4  # back in rotation, not just probed
    finally:
        await r.stop()
        await sick.stop()
        await healthy.stop()
