"""Health of remote agents from the outcome of real calls, shared by every runtime replica in Redis.

The definitions users of the agent bridge rely on: success rate over the last `WINDOW` calls;
healthy at 100%, degraded at 50-99%, unhealthy below 50% or after 3+ consecutive failures.
"""
from __future__ import annotations

import time

import redis.asyncio as redis

from tokenyard.runtime.v1 import runtime_pb2

WINDOW = 20
UNHEALTHY_STREAK = 3


def classify(success_rate: float, consecutive_failures: int, calls: int) -> str:
    if calls == 0:
        return "unknown"
    if consecutive_failures >= UNHEALTHY_STREAK or success_rate < 0.5:
        return "unhealthy"
    return "healthy" if success_rate >= 1.0 else "degraded"


class RemoteHealthTracker:
    def __init__(self, client: redis.Redis, clock=time.time) -> None:
        self._redis = client
        self._clock = clock

    @staticmethod
    def _keys(agent_id: str) -> tuple[str, str]:
        return f"ty:{{rh:{agent_id}}}:window", f"ty:{{rh:{agent_id}}}:stats"

    async def record(self, agent_id: str, ok: bool) -> None:
        window, stats = self._keys(agent_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.lpush(window, "1" if ok else "0")
        pipe.ltrim(window, 0, WINDOW - 1)
        pipe.hincrby(stats, "calls", 1)
        if ok:
            pipe.hset(stats, "consecutive_failures", 0)
        else:
            pipe.hincrby(stats, "consecutive_failures", 1)
            pipe.hset(stats, "last_failure_at_ms", int(self._clock() * 1000))
        await pipe.execute()

    async def get(self, agent_id: str) -> runtime_pb2.RemoteHealth:
        window, stats = self._keys(agent_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.lrange(window, 0, -1)
        pipe.hgetall(stats)
        outcomes, raw = await pipe.execute()
        values = {k.decode(): int(v) for k, v in raw.items()}
        rate = sum(1 for o in outcomes if o == b"1") / len(outcomes) if outcomes else 1.0
        streak, calls = values.get("consecutive_failures", 0), values.get("calls", 0)
        return runtime_pb2.RemoteHealth(agent_id=agent_id, status=classify(rate, streak, calls),
                                        success_rate=round(rate, 4), consecutive_failures=streak, calls=calls,
                                        last_failure_at_ms=values.get("last_failure_at_ms", 0))

    async def reset(self, agent_id: str) -> None:
        await self._redis.delete(*self._keys(agent_id))
