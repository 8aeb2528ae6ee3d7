"""Sessions past their retention are swept on the runtime's schedule, without anyone calling cleanup."""
from __future__ import annotations

import asyncio

from services.runtime.session_sweeper import SessionSweeper
from services.runtime.sessions import SessionStore


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def test_the_sweeper_deletes_idle_sessions_each_round_and_keeps_fresh_ones(redis_client):
    clock = Clock(1_000_000.0)
    store = SessionStore(redis_client, clock=clock)
    old = await store.create(agent_id="bot")
    clock.t += 7200
    fresh = await store.create(agent_id="bot")
    rounds: list[float] = []
    wake = asyncio.Event()

    async def sleep(seconds: float) -> None:  # one scheduled round per call, driven by the test
        rounds.append(seconds)
        wake.set()
        await asyncio.Event().wait()

    sweeper = SessionSweeper(store, ttl_seconds=3600, interval=600, sleep=sleep)
    sweeper.start()
    await asyncio.wait_for(wake.wait(), 5)
    await sweeper.aclose()
    assert rounds == [600] and sweeper.swept == 1
    assert [s.id for s in await store.list(agent_id="bot")] == [fresh.id]
    assert old.id != fresh.id
