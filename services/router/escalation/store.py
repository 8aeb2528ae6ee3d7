"""The review queue and the audit log in Redis, shared by every router replica.

Keys carry the `{esc}` hash tag so multi-key transactions work on Redis Cluster:
- `ty:{esc}:reviews` hash id -> review JSON; `...:reviews:pending` / `...:reviews:all` /
  `...:reviews:resolved` sorted sets by time (resolved is what learning cycles read);
- `ty:{esc}:audit` sorted set of entry JSON by time, plus `...:audit:by:<caller>` per caller
  name and per key id, trimmed to `audit_max` entries.
A review is resolved once: removing it from the pending set is the atomic claim, so two reviewers
clicking at once cannot both win.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import orjson

from services.common.errors import GatewayError, invalid, not_found
import grpc

P = "ty:{esc}"
STATES = ("pending", "approved", "rejected", "corrected")
ACTIONS = {"approve": "approved", "reject": "rejected", "correct": "corrected"}


class EscalationStore:
    def __init__(self, redis, audit_max: int = 100_000, clock: Callable[[], float] = time.time,
                 new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:16]) -> None:
        self.redis = redis
        self._audit_max = audit_max
        self._clock = clock
        self._new_id = new_id

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def enqueue(self, review: dict) -> str:
        rid = f"rev_{self._new_id()}"
        review.update(id=rid, state="pending", created_ms=self.now_ms(), resolved_ms=0)
        async with self.redis.pipeline(transaction=True) as p:
            p.hset(f"{P}:reviews", rid, orjson.dumps(review))
            p.zadd(f"{P}:reviews:pending", {rid: review["created_ms"]})
            p.zadd(f"{P}:reviews:all", {rid: review["created_ms"]})
            await p.execute()
        return rid

    async def get(self, rid: str) -> dict | None:
        raw = await self.redis.hget(f"{P}:reviews", rid)
        return orjson.loads(raw) if raw else None

    async def list(self, state: str = "pending", task_type: str = "", limit: int = 50) -> list[dict]:
        if state not in STATES + ("all",):
            raise invalid(f"`state` must be one of {', '.join(STATES + ('all',))}.", "state")
        index = f"{P}:reviews:pending" if state == "pending" else f"{P}:reviews:all"
        limit = max(1, min(limit or 50, 500))
        out, start = [], 0
        while len(out) < limit:
            ids = await self.redis.zrevrange(index, start, start + 4 * limit - 1)
            if not ids:
                break
            start += len(ids)
            docs = await self.redis.hmget(f"{P}:reviews", ids)
            for raw in docs:
                doc = orjson.loads(raw) if raw else None
                if doc and state in ("all", doc["state"]) and (not task_type or doc["task_type"] == task_type):
                    out.append(doc)
        return out[:limit]

    async def pending_count(self) -> int:
        return int(await self.redis.zcard(f"{P}:reviews:pending"))

    async def resolve(self, rid: str, action: str, correction: str = "", reviewer: str = "", note: str = "") -> dict:
        if action not in ACTIONS:
            raise invalid("`action` must be approve, reject or correct.", "action")
        if action == "correct" and not correction:
            raise invalid("`correct` needs the corrected answer in `correction`.", "correction")
        doc = await self.get(rid)
        if doc is None:
            raise not_found(f"No review `{rid}`.", "review_not_found", "id")
        if not await self.redis.zrem(f"{P}:reviews:pending", rid):
            raise GatewayError(grpc.StatusCode.FAILED_PRECONDITION, f"Review `{rid}` is already {doc['state']}.",
                               "invalid_request_error", "review_resolved", 409, "id")
        doc.update(state=ACTIONS[action], correction=correction, reviewer=reviewer, note=note,
                   resolved_ms=self.now_ms())
        async with self.redis.pipeline(transaction=True) as p:
            p.hset(f"{P}:reviews", rid, orjson.dumps(doc))
            p.zadd(f"{P}:reviews:resolved", {rid: doc["resolved_ms"]})
            await p.execute()
        await self.audit({"kind": "review", "request_id": doc["request_id"], "caller": doc["caller"],
                          "key_id": doc["key_id"], "task_type": doc["task_type"], "tier": doc["tier"],
                          "status": doc["state"], "confidence": doc["confidence"], "review_id": rid,
                          "detail": {"action": action, "reviewer": reviewer, "note": note}})
        return doc

    async def resolved_between(self, since_ms: int, until_ms: int) -> list[dict]:
        """Reviews resolved in (since, until]: each one counts in exactly one run of a cycle."""
        ids = await self.redis.zrangebyscore(f"{P}:reviews:resolved", f"({since_ms}", until_ms)
        docs = await self.redis.hmget(f"{P}:reviews", ids) if ids else []
        return [orjson.loads(d) for d in docs if d]

    async def audit(self, entry: dict) -> None:
        entry = {"id": f"aud_{self._new_id()}", "at_ms": self.now_ms(), **entry}
        blob, at = orjson.dumps(entry), entry["at_ms"]
        async with self.redis.pipeline(transaction=True) as p:
            p.zadd(f"{P}:audit", {blob: at})
            p.zremrangebyrank(f"{P}:audit", 0, -self._audit_max - 1)
            for who in {entry.get("caller"), entry.get("key_id")} - {None, ""}:
                p.zadd(f"{P}:audit:by:{who}", {blob: at})
                p.zremrangebyrank(f"{P}:audit:by:{who}", 0, -self._audit_max - 1)
            await p.execute()

    async def query_audit(self, since_ms: int = 0, until_ms: int = 0, caller: str = "", limit: int = 100) -> list[dict]:
        key = f"{P}:audit:by:{caller}" if caller else f"{P}:audit"
        hi = until_ms if until_ms > 0 else "+inf"
        rows = await self.redis.zrevrangebyscore(key, hi, since_ms or 0, start=0, num=max(1, min(limit or 100, 1000)))
        return [orjson.loads(r) for r in rows]
