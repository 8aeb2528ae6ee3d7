"""Learning cycles: retune validators (6 h), thresholds (12 h) and starting tiers (24 h) from review
outcomes and escalation history. Every change is one bounded step, logged with its reason, stored
with the value it replaced, and reversible (`revert`).

The rules, each a direction a reviewer's verdict justifies:
- thresholds: most reviewed answers of a task type rejected (or corrected) -> the gate let bad
  answers through: raise `escalate_below` and `review_below` one step; mostly approved -> lower them.
- validators: answers a validator failed were mostly approved -> it is too strict: lower its
  penalty; mostly rejected -> raise it.
- assignments: most answers at a task type's starting tier escalated -> the cheap call is wasted:
  start one tier up (never past `max_start_tier`); almost none escalated above the configured start ->
  try one tier cheaper again.
"""
from __future__ import annotations

import time
import uuid
from collections import defaultdict

import grpc
import structlog

from services.common.errors import GatewayError, invalid
from services.router.escalation.config import CYCLES, EscalationConfig
from services.router.escalation.metrics import EscalationMetrics, flatten, parse
from services.router.escalation.store import P, EscalationStore
from services.router.escalation.tuning import Tuning

log = structlog.get_logger()
LAST = f"{P}:learn:last"
BASELINE = f"{P}:learn:baseline"
BAD = ("rejected", "corrected")


class LearningCycles:
    def __init__(self, cfg: EscalationConfig, store: EscalationStore, metrics: EscalationMetrics, tuning: Tuning,
                 clock=time.time, new_id=lambda: uuid.uuid4().hex[:12]) -> None:
        self._cfg, self._store, self._metrics, self._tuning = cfg, store, metrics, tuning
        self._bounds = cfg.learning.bounds
        self._clock, self._new_id = clock, new_id
        self._redis = store.redis

    async def run(self, cycle: str) -> tuple[list[str], list[dict]]:
        """Runs one cycle (or `all`) now; returns the cycles run and the changes made."""
        if cycle not in CYCLES + ("all", ""):
            raise invalid(f"`cycle` must be one of {', '.join(CYCLES + ('all',))}.", "cycle")
        cycles = list(CYCLES) if cycle in ("all", "") else [cycle]
        changes: list[dict] = []
        for name in cycles:
            now = self._now_ms()
            since = int(await self._redis.hget(LAST, name) or 0)
            made = await getattr(self, f"_{name}")(since, now)
            await self._redis.hset(LAST, name, now)
            log.info("learning_cycle_ran", cycle=name, changes=len(made), since_ms=since)
            changes += made
        return cycles, changes

    async def next_runs(self) -> dict[str, int]:
        last = await self._redis.hgetall(LAST)
        done = {k.decode(): int(v) for k, v in last.items()}
        return {c: done.get(c, 0) + int(self._cfg.learning.every(c) * 1000) for c in CYCLES}

    async def revert(self, change_id: str) -> dict:
        change = await self._tuning.change(change_id)
        if change["reverted"]:
            raise GatewayError(grpc.StatusCode.FAILED_PRECONDITION, f"Change `{change_id}` is already reverted.",
                               "invalid_request_error", "already_reverted", 409, "id")
        current = await self._current(change["task_type"], change["field"])
        return await self._change("revert", change["task_type"], change["field"], current, change["old_value"],
                                  f"revert of {change_id}", reverts=change_id)

    async def _thresholds(self, since: int, now: int) -> list[dict]:
        by_task: dict[str, list[dict]] = defaultdict(list)
        for r in await self._store.resolved_between(since, now):
            by_task[self._cfg.task(r["task_type"]).name].append(r)
        out, b = [], self._bounds
        for task, reviews in by_task.items():
            bad = sum(r["state"] in BAD for r in reviews)
            good, n = len(reviews) - bad, len(reviews)
            if n < b.min_samples or bad == good:
                continue
            step = b.threshold_step if bad > good else -b.threshold_step
            why = (f"{bad} of {n} reviewed answers were rejected or corrected: escalate and review earlier"
                   if bad > good else f"{good} of {n} reviewed answers were approved: escalate and review less")
            for field, (lo, hi) in (("escalate_below", b.escalate_below), ("review_below", b.review_below)):
                cur = await self._current(task, field)
                new = min(hi, max(lo, cur + step))
                if new != cur:
                    out.append(await self._change("thresholds", task, field, cur, new, why))
        return out

    async def _validators(self, since: int, now: int) -> list[dict]:
        tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # validator -> [approved, rejected]
        for r in await self._store.resolved_between(since, now):
            for v in r.get("verdicts", []):
                if not v["passed"]:
                    tally[v["name"]][r["state"] in BAD] += 1
        out, b = [], self._bounds
        for name, (good, bad) in tally.items():
            if good + bad < b.min_samples or good == bad or name not in self._cfg.penalties:
                continue
            cur = await self._current("*", name)
            new = min(b.penalty[1], max(b.penalty[0], cur + (b.penalty_step if bad > good else -b.penalty_step)))
            if new != cur:
                why = (f"answers failing `{name}` were rejected {bad} of {good + bad} times: weigh it more"
                       if bad > good else f"answers failing `{name}` were approved {good} of {good + bad} times: "
                                          "it is too strict")
                out.append(await self._change("validators", "*", name, cur, new, why))
        return out

    async def _assignments(self, since: int, now: int) -> list[dict]:
        snap = await self._metrics.snapshot()
        base = parse({k.decode(): int(v) for k, v in (await self._redis.hgetall(BASELINE)).items()})
        out, b = [], self._bounds
        for task in self._cfg.task_types.values():
            start = int(await self._current(task.name, "start_tier"))
            tier = task.tiers[start]
            row, old = snap.tiers.get((task.name, tier), {}), base.tiers.get((task.name, tier), {})
            answered = row.get("answered", 0) - old.get("answered", 0)
            escalated = row.get("escalated", 0) - old.get("escalated", 0)
            if answered < b.min_samples:
                continue
            rate, top = escalated / answered, min(b.max_start_tier, len(task.tiers) - 1)
            if rate > 0.8 and start < top:
                why = f"{escalated} of {answered} answers at `{tier}` escalated: start at `{task.tiers[start + 1]}`"
                out.append(await self._change("assignments", task.name, "start_tier", start, start + 1, why))
            elif rate < 0.1 and start > task.start_tier:
                why = f"{escalated} of {answered} answers at `{tier}` escalated: try `{task.tiers[start - 1]}` again"
                out.append(await self._change("assignments", task.name, "start_tier", start, start - 1, why))
        fields = flatten(snap)
        if fields:
            await self._redis.hset(BASELINE, mapping=fields)
        return out

    async def _current(self, task: str, field: str) -> float:
        if task == "*":
            return (await self._tuning.effective("default")).penalties[field]
        eff = await self._tuning.effective(task)
        return float(eff.start_tier) if field == "start_tier" else getattr(eff.gate, field)

    async def _change(self, cycle: str, task: str, field: str, old: float, new: float, why: str,
                      reverts: str = "") -> dict:
        change = await self._tuning.apply(cycle, task, field, old, new, why, self._now_ms(),
                                          f"chg_{self._new_id()}", reverts)
        log.info("learning_change", cycle=cycle, task_type=task, field=field, old=old, new=new, reason=why,
                 change_id=change["id"])
        return change

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)
