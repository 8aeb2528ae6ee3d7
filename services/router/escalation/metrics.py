"""Escalation metrics as counters in one Redis hash (`ty:{esc}:metrics`), shared by every replica.

Fields are `answered|task|tier`, `escalated|task|tier`, `served|task|tier`, `conf|task|bucket`,
and the money totals (`cost`, `top_cost`, `saved`, in micro-dollars). The assignments learning cycle
reads the same counters (minus a snapshot taken at its last run) as its escalation history.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from services.router.escalation.store import P

KEY = f"{P}:metrics"


@dataclass
class Snapshot:
    tiers: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    """(task type, tier) -> {answered, escalated, served}."""
    confidence: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)


class EscalationMetrics:
    def __init__(self, redis) -> None:
        self._redis = redis

    async def record(self, task: str, tried: list[tuple[str, bool]], served: str, confidence: float,
                     cost: int, top_cost: int) -> None:
        """`tried`: (tier, escalated from it) in order; `served`: the tier whose answer the client got."""
        async with self._redis.pipeline(transaction=False) as p:
            for tier, escalated in tried:
                p.hincrby(KEY, f"answered|{task}|{tier}", 1)
                if escalated:
                    p.hincrby(KEY, f"escalated|{task}|{tier}", 1)
            p.hincrby(KEY, f"served|{task}|{served}", 1)
            p.hincrby(KEY, f"conf|{task}|{int(min(10, max(0, confidence)))}", 1)
            p.hincrby(KEY, "requests", 1)
            p.hincrby(KEY, "cost", cost)
            p.hincrby(KEY, "top_cost", top_cost)
            p.hincrby(KEY, "saved", top_cost - cost)
            await p.execute()

    async def snapshot(self) -> Snapshot:
        raw = await self._redis.hgetall(KEY)
        return parse({k.decode(): int(v) for k, v in raw.items()})


def parse(fields: dict[str, int]) -> Snapshot:
    snap = Snapshot()
    for name, value in fields.items():
        parts = name.split("|")
        if len(parts) == 3 and parts[0] in ("answered", "escalated", "served"):
            row = snap.tiers.setdefault((parts[1], parts[2]), {"answered": 0, "escalated": 0, "served": 0})
            row[parts[0]] = value
        elif len(parts) == 3 and parts[0] == "conf":
            snap.confidence.setdefault(parts[1], {})[parts[2]] = value
        else:
            snap.totals[name] = value
    return snap


def flatten(snap: Snapshot) -> dict[str, int]:
    """The counters of a snapshot, for storing it as the learning cycle's baseline."""
    out = {f"{k}|{task}|{tier}": v for (task, tier), row in snap.tiers.items() for k, v in row.items()}
    return out
