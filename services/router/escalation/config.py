"""The `tiers_escalation:` config section: ordered tiers, per-task-type gates, validator penalties,
learning-cycle cadence and bounds. Validated at start; every error names the field.

Defaults map fast -> medium -> large -> external to fake-provider models, so `make run` escalates out
of the box; point the tiers' models at real model groups (or routing groups with fallbacks) in the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Annotated, Literal

from pydantic import Field, model_validator

from services.common.config_models import Section, parse

AUTO_MODEL = "tier/auto"
STATUSES = ("pending_review", "warning", "approved")
CYCLES = ("validators", "thresholds", "assignments")

DEFAULT_PENALTIES = {"non_empty": 10.0, "finish_reason": 5.0, "json": 7.0, "schema": 5.0, "tool_args": 6.0,
                     "no_refusal": 8.0, "language": 4.0, "label": 7.0}
"""Points each failed validator takes off the score of 10 (an empty answer is worth nothing)."""

DEFAULT_SECTION = {
    # fake-fast echoes; fake-json-* also answer JSON when asked, so classify escalates fast -> medium.
    "tiers": [{"name": "fast", "model": "fake-fast"}, {"name": "medium", "model": "fake-json-medium"},
              {"name": "large", "model": "fake-json-large"}, {"name": "external", "model": "fake-json-external"}],
    "task_types": {"default": {}, "classify": {}},
}


@dataclass(frozen=True)
class TierSpec:
    name: str
    model: str
    """A model name or routing group the router serves (its fallbacks, breakers and retries apply)."""


@dataclass(frozen=True)
class Gate:
    """Thresholds on the 0-10 confidence score (issue defaults)."""

    review_below: float = 4.0
    """Under it: `pending_review` (queued for a human)."""
    approve_from: float = 7.0
    """From it: `approved`; between the two: `warning`."""
    escalate_below: float = 5.0
    """Under it, an answer from a lower tier is retried on the next tier."""

    def status(self, score: float) -> str:
        if score < self.review_below:
            return "pending_review"
        return "approved" if score >= self.approve_from else "warning"


@dataclass(frozen=True)
class TaskType:
    name: str
    tiers: tuple[str, ...]
    """Tier names this task type may use, cheapest first."""
    gate: Gate = Gate()
    start_tier: int = 0
    """Index into `tiers` where requests start (the 24 h cycle moves it)."""
    language: str = ""
    """Default answer language when a request names none."""


@dataclass(frozen=True)
class Bounds:
    """How far learning cycles may move things, and how much evidence they need."""

    escalate_below: tuple[float, float] = (3.0, 8.0)
    review_below: tuple[float, float] = (2.0, 6.0)
    threshold_step: float = 0.5
    penalty: tuple[float, float] = (1.0, 10.0)
    penalty_step: float = 1.0
    max_start_tier: int = 2
    """Learning never starts a task type above this tier index (external stays a last resort)."""
    min_samples: int = 5
    """Reviews (or requests, for assignments) a cycle needs before it changes anything."""


@dataclass(frozen=True)
class Learning:
    validators_every: float = 6 * 3600.0
    thresholds_every: float = 12 * 3600.0
    assignments_every: float = 24 * 3600.0
    enabled: bool = True
    """Run on schedule; on demand runs always work."""
    bounds: Bounds = Bounds()

    def every(self, cycle: str) -> float:
        return {"validators": self.validators_every, "thresholds": self.thresholds_every,
                "assignments": self.assignments_every}[cycle]


@dataclass(frozen=True)
class EscalationConfig:
    tiers: tuple[TierSpec, ...] = ()
    task_types: dict[str, TaskType] = field(default_factory=dict)
    penalties: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PENALTIES))
    judge_model: str = ""
    """Optional judge (another model scoring the answer 0-10); off when empty (the default)."""
    learning: Learning = Learning()
    audit_max: int = 100_000
    """Audit entries kept (oldest trimmed)."""

    def tier(self, name: str) -> TierSpec:
        return next(t for t in self.tiers if t.name == name)

    def task(self, name: str) -> TaskType:
        return self.task_types.get(name) or self.task_types["default"]

    @property
    def top(self) -> TierSpec:
        """The dearest tier: what "always use the top tier" would have used (for cost saved)."""
        return self.tiers[-1]

    @classmethod
    def from_config(cls, raw: object) -> "EscalationConfig":
        """The section (defaults when absent); errors name the field (`tiers_escalation.tiers[1].model`)."""
        spec = parse(EscalationSection, DEFAULT_SECTION if raw is None else raw, "tiers_escalation")
        tiers = tuple(TierSpec(t.name, t.model) for t in spec.tiers)
        names = tuple(t.name for t in tiers)
        types = {k: _task_type(k, v, names) for k, v in spec.task_types.items()}
        types.setdefault("default", TaskType("default", names))
        l = spec.learning
        bounds = replace(Bounds(), max_start_tier=l.max_start_tier, min_samples=l.min_samples)
        learning = Learning(l.validators_every_hours * 3600, l.thresholds_every_hours * 3600,
                            l.assignments_every_hours * 3600, l.enabled, bounds)
        return cls(tiers, types, {**DEFAULT_PENALTIES, **spec.penalties}, spec.judge_model, learning)


Score = Annotated[float, Field(ge=0, le=10)]
Hours = Annotated[float, Field(ge=0.001, le=24 * 365)]


class TierEntry(Section):
    name: str = Field(min_length=1)
    model: str = Field(min_length=1)


class GateSpec(Section):
    review_below: Score = 4.0
    approve_from: Score = 7.0
    escalate_below: Score = 5.0

    @model_validator(mode="after")
    def _ordered(self) -> "GateSpec":
        if self.review_below > self.approve_from:
            raise ValueError("review_below must not exceed approve_from")
        return self


class TaskTypeSpec(Section):
    tiers: list[str] | None = Field(default=None, min_length=1)
    """Tier names this task type may use (any order; kept cheapest first); None: every tier."""
    gate: GateSpec = GateSpec()
    start_tier: str = ""
    language: str = ""
    """Default answer language (ISO 639-1, e.g. `en`)."""


class LearningSpec(Section):
    validators_every_hours: Hours = 6.0
    thresholds_every_hours: Hours = 12.0
    assignments_every_hours: Hours = 24.0
    enabled: bool = True
    max_start_tier: int = Field(default=2, ge=0)
    min_samples: int = Field(default=5, ge=1)


class EscalationSection(Section):
    tiers: list[TierEntry] = Field(default_factory=lambda: [TierEntry(**t) for t in DEFAULT_SECTION["tiers"]],
                                   min_length=1)
    """Cheapest first."""
    task_types: dict[str, TaskTypeSpec] = Field(default_factory=dict)
    penalties: dict[Literal["non_empty", "finish_reason", "json", "schema", "tool_args", "no_refusal", "language",
                            "label"], Score] = Field(default_factory=dict)
    judge_model: str = ""
    learning: LearningSpec = LearningSpec()

    @model_validator(mode="after")
    def _references(self) -> "EscalationSection":
        names = [t.name for t in self.tiers]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"tiers[{i}].name: duplicate tier {name!r}")
        for k, t in self.task_types.items():
            if t.tiers is not None and any(n not in names for n in t.tiers):
                raise ValueError(f"task_types.{k}.tiers: must be tier names from {names}")
            use = t.tiers if t.tiers is not None else names
            if t.start_tier and t.start_tier not in use:
                raise ValueError(f"task_types.{k}.start_tier: must be one of {use}")
        return self


def _task_type(name: str, spec: TaskTypeSpec, tiers: tuple[str, ...]) -> TaskType:
    use = sorted(spec.tiers if spec.tiers is not None else tiers, key=tiers.index)  # cheapest first
    g = spec.gate
    start = spec.start_tier or use[0]
    return TaskType(name, tuple(use), Gate(g.review_below, g.approve_from, g.escalate_below), use.index(start),
                    spec.language.lower())
