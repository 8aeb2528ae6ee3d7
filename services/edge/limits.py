"""Rate limits a request must pass: its key's, and its agent's (shared by every key of that agent).

Agent limits live in Redis (`ty:agent-limits:<id>`, set through `PUT /api/v1/agents/{id}/limits`) and
are cached per process for `cache_ttl`, like keys, so the hot path reads Redis only for the GCRA check.
A refused request is charged to no limit; the token charge is corrected by actual usage afterwards.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as redis
import structlog

from services.common import redis_conn
from services.edge.auth import Principal
from services.edge.ratelimit import RateLimiter

log = structlog.get_logger()
_REDIS_DOWN = redis_conn.UNAVAILABLE


@dataclass(frozen=True)
class AgentLimit:
    rpm: int = 0
    tpm: int = 0


class AgentLimitStore:
    def __init__(self, client: redis.Redis, cache_ttl: float = 1.0, clock=time.monotonic) -> None:
        self._redis = client
        self._ttl = cache_ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, AgentLimit]] = {}

    @staticmethod
    def _key(agent_id: str) -> str:
        return f"ty:agent-limits:{agent_id}"

    async def get(self, agent_id: str) -> AgentLimit:
        now = self._clock()
        hit = self._cache.get(agent_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        raw = await self._redis.hgetall(self._key(agent_id))
        limit = AgentLimit(int(raw.get(b"rpm", 0)), int(raw.get(b"tpm", 0)))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[agent_id] = (now + self._ttl, limit)
        return limit

    async def set(self, agent_id: str, limit: AgentLimit) -> None:
        if limit.rpm or limit.tpm:
            await self._redis.hset(self._key(agent_id), mapping={"rpm": limit.rpm, "tpm": limit.tpm})
        else:
            await self._redis.delete(self._key(agent_id))
        self._cache.pop(agent_id, None)


def _refusal(subject: str, retry_after: str) -> dict:
    return {"message": f"Rate limit reached for this {subject}; retry in {retry_after}s.", "type": "rate_limit_error",
            "param": None, "code": "rate_limit_exceeded"}


class Limits:
    def __init__(self, limiter: RateLimiter, agents: AgentLimitStore) -> None:
        self._limiter = limiter
        self._agents = agents

    async def _subjects(self, principal: Principal, agent_id: str = "") -> list[tuple[str, str, int, int]]:
        """(kind, limiter subject, rpm, tpm) for every limit that applies: the key's, the key's own agent's,
        and the agent called (`agent/<id>`, agent chat), which may differ from the key's."""
        out = []
        record = principal.record
        if record is not None and (record.rpm or record.tpm):
            out.append(("key", principal.caller.key_id, record.rpm, record.tpm))
        for agent in dict.fromkeys(a for a in (principal.caller.agent_id, agent_id) if a):
            limit = await self._agents.get(agent)
            if limit.rpm or limit.tpm:
                out.append(("agent", f"agent:{agent}", limit.rpm, limit.tpm))
        return out

    async def admit(self, principal: Principal, tokens: int, headers: dict, agent_id: str = "") -> dict | None:
        """The OpenAI error for a refused request (headers get Retry-After), else None; adds x-ratelimit-*."""
        if principal.record is None and not principal.caller.agent_id and not agent_id:
            return None
        try:
            charged = []
            for kind, subject, rpm, tpm in await self._subjects(principal, agent_id):
                decision = await self._limiter.admit(subject, rpm, tpm, tokens)
                headers.update(decision.headers)
                if not decision.allowed:
                    for done in charged:  # the key admitted it, the agent did not: the key pays nothing
                        await self._limiter.refund(*done, tokens)
                    return _refusal(kind, headers["Retry-After"])
                charged.append((subject, rpm, tpm))
        except _REDIS_DOWN as exc:
            # Fail open: an outage of the limit store must not take every tenant down with it.
            log.warning("rate_limit_store_unavailable", error=str(exc))
        return None

    async def settle(self, principal: Principal, estimated: int, actual: int, agent_id: str = "") -> None:
        if actual == estimated or (principal.record is None and not principal.caller.agent_id and not agent_id):
            return
        try:
            for _kind, subject, _rpm, tpm in await self._subjects(principal, agent_id):
                await self._limiter.settle(subject, tpm, actual - estimated)
        except _REDIS_DOWN:
            pass
