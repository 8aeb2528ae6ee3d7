"""Learning cycles on real Redis: bounded steps in the direction the reviews point, logged, reversible,
scheduled once across replicas."""
from __future__ import annotations

import pytest

from services.router.escalation.config import EscalationConfig
from services.router.escalation.learning import LearningCycles
from services.router.escalation.metrics import EscalationMetrics
from services.router.escalation.scheduler import LearningScheduler
from services.router.escalation.store import EscalationStore
from services.router.escalation.tuning import Tuning

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _parts(redis, clock, **learning):
    cfg = EscalationConfig.from_config({"tiers": [{"name": "fast", "model": "a"}, {"name": "medium", "model": "b"},
                                                  {"name": "large", "model": "c"}],
                                        "task_types": {"default": {}}, "learning": {"min_samples": 2, **learning}})
    store, metrics, tuning = EscalationStore(redis, clock=clock), EscalationMetrics(redis), Tuning(cfg, redis, ttl=0)
    return cfg, store, tuning, LearningCycles(cfg, store, metrics, tuning, clock=clock), metrics


async def _reviewed(store: EscalationStore, action: str, failed: str = "language", task: str = "default") -> None:
    rid = await store.enqueue({"request_id": "r", "task_type": task, "caller": "c", "key_id": "k", "tier": "fast",
                               "model": "a", "confidence": 3.0, "input": "i", "output": "o",
                               "verdicts": [{"name": failed, "passed": False, "penalty": 4.0, "detail": ""}]})
    await store.resolve(rid, action, correction="better" if action == "correct" else "")


async def test_approvals_lower_the_thresholds_and_the_validator_penalty(redis_client):
    clock = Clock()
    cfg, store, tuning, cycles, _ = _parts(redis_client, clock)
    for _ in range(3):
        await _reviewed(store, "approve")
    clock.t += 10
    _, changes = await cycles.run("all")
    moved = {(c["cycle"], c["field"]): (c["old_value"], c["new_value"]) for c in changes}
    assert moved[("thresholds", "escalate_below")] == (5.0, 4.5)
    assert moved[("validators", "language")] == (4.0, 3.0)
    eff = await tuning.effective("default")
    assert eff.gate.escalate_below == 4.5 and eff.penalties["language"] == 3.0
    # Already-seen reviews do not count twice.
    clock.t += 10
    assert (await cycles.run("thresholds"))[1] == []


async def test_changes_stay_within_bounds(redis_client):
    clock = Clock()
    _, store, tuning, cycles, _ = _parts(redis_client, clock)
    for _ in range(12):
        clock.t += 10
        for _ in range(2):
            await _reviewed(store, "reject")
        await cycles.run("thresholds")
    eff = await tuning.effective("default")
    assert eff.gate.escalate_below == 8.0 and eff.gate.review_below == 6.0


async def test_too_few_reviews_change_nothing(redis_client):
    clock = Clock()
    _, store, _, cycles, _ = _parts(redis_client, clock)
    await _reviewed(store, "reject")
    clock.t += 10
    assert (await cycles.run("all"))[1] == []


async def test_assignments_move_the_start_tier_up_when_the_cheap_tier_always_escalates(redis_client):
    clock = Clock()
    _, _, tuning, cycles, metrics = _parts(redis_client, clock, max_start_tier=1)
    for _ in range(3):
        await metrics.record("default", [("fast", True), ("medium", False)], "medium", 9.0, 10, 100)
    _, changes = await cycles.run("assignments")
    assert [(c["field"], c["old_value"], c["new_value"]) for c in changes] == [("start_tier", 0.0, 1.0)]
    assert (await tuning.effective("default")).start_tier == 1
    # At the bound (max_start_tier=1): medium escalating too does not move it further.
    for _ in range(3):
        await metrics.record("default", [("medium", True), ("large", False)], "large", 9.0, 10, 100)
    assert (await cycles.run("assignments"))[1] == []
    reverted = await cycles.revert(changes[0]["id"])
    assert reverted["new_value"] == 0.0 and (await tuning.effective("default")).start_tier == 0


async def test_scheduler_runs_due_cycles_once_across_replicas(redis_client):
    clock = Clock()
    _, _, _, cycles, _ = _parts(redis_client, clock, validators_every_hours=6)
    a, b = LearningScheduler(cycles, redis_client, clock=clock), LearningScheduler(cycles, redis_client, clock=clock)
    assert await a.tick() == []  # a fresh deployment waits one full period
    clock.t += 6 * 3600 + 1
    assert await a.tick() == ["validators"] and await b.tick() == []
    clock.t += 6 * 3600
    assert await b.tick() == ["validators", "thresholds"]
    clock.t += 12 * 3600
    assert await a.tick() == ["validators", "thresholds", "assignments"]
