"""Deletes sessions idle past the retention setting on a schedule, not only when someone calls cleanup.

Every `interval` seconds (TOKENYARD_SESSION_SWEEP_SECONDS, default hourly) the sweeper runs the store's
cleanup with the session TTL (TOKENYARD_SESSION_TTL). Several runtime replicas may sweep at once:
deleting a session twice is harmless. A Redis outage skips one round (logged), never the loop.
"""
from __future__ import annotations

import asyncio
import contextlib

import structlog

log = structlog.get_logger()


class SessionSweeper:
    def __init__(self, sessions, ttl_seconds: float, interval: float = 3600.0, sleep=asyncio.sleep) -> None:
        self._sessions, self._ttl, self._interval, self._sleep = sessions, ttl_seconds, interval, sleep
        self._task: asyncio.Task | None = None
        self.swept = 0

    async def sweep_once(self) -> int:
        try:
            deleted = await self._sessions.cleanup(self._ttl)
        except Exception as exc:  # Redis away: try again next round
            log.warning("session_sweep_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            return 0
        self.swept += deleted
        if deleted:
            log.info("sessions_expired", deleted=deleted, ttl_seconds=self._ttl)
        return deleted

    async def _loop(self) -> None:
        while True:
            await self.sweep_once()
            await self._sleep(self._interval)

    def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(self._loop())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
