"""What learning cycles have tuned: per-task-type thresholds and starting tier, per-validator penalties.

Stored in Redis (`ty:{esc}:learn:state`: field -> number, e.g. `default|escalate_below`,
`penalty|language`) on top of the config file's values, so every replica serves with the same
settings and a revert is one write. Each change is a record in `ty:{esc}:learn:changes` (with its
reason and the old value) and the time index `ty:{esc}:learn:log`. Reads are cached for `ttl`
seconds so a request does not pay a Redis round trip for them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import orjson

from services.common.errors import not_found
from services.router.escalation.config import EscalationConfig, Gate
from services.router.escalation.store import P

STATE = f"{P}:learn:state"
CHANGES = f"{P}:learn:changes"
LOG = f"{P}:learn:log"


@dataclass(frozen=True)
class Effective:
    """The settings one request runs with: config values with learned overrides applied."""

    gate: Gate
    start_tier: int
    penalties: dict[str, float]


class Tuning:
    def __init__(self, cfg: EscalationConfig, redis, ttl: float = 2.0, monotonic=time.monotonic) -> None:
        self._cfg, self._redis, self._ttl, self._monotonic = cfg, redis, ttl, monotonic
        self._cache: tuple[float, dict[str, float]] | None = None

    async def overrides(self) -> dict[str, float]:
        if self._redis is None:
            return {}
        now = self._monotonic()
        if self._cache is None or self._cache[0] <= now:
            raw = await self._redis.hgetall(STATE)
            self._cache = (now + self._ttl, {k.decode(): float(v) for k, v in raw.items()})
        return self._cache[1]

    async def effective(self, task_type: str) -> Effective:
        task = self._cfg.task(task_type)
        o = await self.overrides()
        gate = task.gate
        gate = Gate(o.get(f"{task.name}|review_below", gate.review_below), gate.approve_from,
                    o.get(f"{task.name}|escalate_below", gate.escalate_below))
        start = int(o.get(f"{task.name}|start_tier", task.start_tier))
        penalties = {k: o.get(f"penalty|{k}", v) for k, v in self._cfg.penalties.items()}
        return Effective(replace(gate, review_below=min(gate.review_below, gate.approve_from)),
                         min(start, len(task.tiers) - 1), penalties)

    async def apply(self, cycle: str, task_type: str, field: str, old: float, new: float, reason: str,
                    at_ms: int, change_id: str, reverts: str = "") -> dict:
        """Writes one tuned value and its change record in one transaction."""
        key = f"penalty|{field}" if task_type == "*" else f"{task_type}|{field}"
        change = {"id": change_id, "cycle": cycle, "task_type": task_type, "field": field, "old_value": old,
                  "new_value": new, "reason": reason, "at_ms": at_ms, "reverts": reverts, "reverted": False}
        prior = await self.change(reverts) if reverts else None
        async with self._redis.pipeline(transaction=True) as p:
            p.hset(STATE, key, repr(float(new)))
            p.hset(CHANGES, change_id, orjson.dumps(change))
            p.zadd(LOG, {change_id: at_ms})
            if prior is not None:
                p.hset(CHANGES, reverts, orjson.dumps({**prior, "reverted": True}))
            await p.execute()
        self._cache = None
        return change

    async def change(self, change_id: str) -> dict:
        raw = await self._redis.hget(CHANGES, change_id)
        if not raw:
            raise not_found(f"No learning change `{change_id}`.", "change_not_found", "id")
        return orjson.loads(raw)

    async def history(self, limit: int = 100) -> list[dict]:
        ids = await self._redis.zrevrange(LOG, 0, max(1, min(limit or 100, 1000)) - 1)
        docs = await self._redis.hmget(CHANGES, ids) if ids else []
        return [orjson.loads(d) for d in docs if d]

    async def state(self) -> dict[str, float]:
        self._cache = None
        return await self.overrides()
