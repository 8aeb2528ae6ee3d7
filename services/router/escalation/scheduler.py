"""Runs learning cycles on their cadence (6 h / 12 h / 24 h by default) in the background.

Any number of router replicas run this loop; a Redis lock (`SET NX PX`) per cycle lets exactly one
of them run a due cycle, and the cycle's last-run time (in Redis) is what makes it due, so a restart
neither skips nor repeats a cycle. A failing cycle is logged and retried at the next check.
"""
from __future__ import annotations

import asyncio
import time

import structlog

from services.common.cancellation import raise_if_cancelled
from services.router.escalation.config import CYCLES
from services.router.escalation.learning import LAST, LearningCycles
from services.router.escalation.store import P

log = structlog.get_logger()


class LearningScheduler:
    def __init__(self, cycles: LearningCycles, redis, check_every: float = 60.0, lock_ms: int = 600_000,
                 clock=time.time) -> None:
        self._cycles, self._redis = cycles, redis
        self._check_every, self._lock_ms, self._clock = check_every, lock_ms, clock
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def tick(self) -> list[str]:
        """Runs every due cycle this replica wins the lock for; returns their names."""
        ran = []
        now = int(self._clock() * 1000)
        for cycle in CYCLES:  # a fresh deployment waits one full period before its first run
            await self._redis.hsetnx(LAST, cycle, now)
        due = await self._cycles.next_runs()
        for cycle in CYCLES:
            if due[cycle] > now:
                continue
            if not await self._redis.set(f"{P}:learn:lock:{cycle}", b"1", nx=True, px=self._lock_ms):
                continue
            try:
                await self._cycles.run(cycle)
                ran.append(cycle)
            finally:
                await self._redis.delete(f"{P}:learn:lock:{cycle}")
        return ran

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a cycle must never take the router down
                log.warning("learning_cycle_failed", error=str(exc))
            raise_if_cancelled()  # a TimeoutError caught above can stand for a cancel too
            await asyncio.sleep(self._check_every)
