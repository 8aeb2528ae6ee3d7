"""The `tiers_escalation:` config section: ordered tiers, per-task-type gates, validator penalties,
learning-cycle cadence and bounds. Validated at start; every error names the field.

Defaults map fast -> medium -> large -> external to fake-provider models, so `make run` escalates out
of the box; point the tiers' models at real model groups (or routing groups with fallbacks) in the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from services.common.env import ConfigError

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
        raw = DEFAULT_SECTION if raw is None else raw
        if not isinstance(raw, dict):
            raise ConfigError("tiers_escalation: must be a mapping with `tiers:` and `task_types:`")
        tiers = _tiers(raw.get("tiers", DEFAULT_SECTION["tiers"]))
        names = tuple(t.name for t in tiers)
        types_raw = raw.get("task_types") or {}
        if not isinstance(types_raw, dict):
            raise ConfigError("tiers_escalation.task_types: must be a mapping of task type -> settings")
        types = {str(k): _task_type(str(k), v, names) for k, v in types_raw.items()}
        types.setdefault("default", TaskType("default", names))
        penalties = dict(DEFAULT_PENALTIES)
        for k, v in (raw.get("penalties") or {}).items():
            if k not in DEFAULT_PENALTIES:
                raise ConfigError(f"tiers_escalation.penalties.{k}: unknown validator ({', '.join(DEFAULT_PENALTIES)})")
            penalties[k] = _num(v, f"tiers_escalation.penalties.{k}", 0, 10)
        judge = raw.get("judge_model", "")
        if not isinstance(judge, str):
            raise ConfigError("tiers_escalation.judge_model: must be a model name (empty: no judge)")
        return cls(tiers, types, penalties, judge, _learning(raw.get("learning") or {}))


def _tiers(raw: object) -> tuple[TierSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("tiers_escalation.tiers: must be a non-empty list of {name, model}, cheapest first")
    out = []
    for i, t in enumerate(raw):
        if not isinstance(t, dict) or not all(isinstance(t.get(k), str) and t.get(k) for k in ("name", "model")):
            raise ConfigError(f"tiers_escalation.tiers[{i}]: needs `name` and `model` (non-empty strings)")
        if any(o.name == t["name"] for o in out):
            raise ConfigError(f"tiers_escalation.tiers[{i}].name: duplicate tier {t['name']!r}")
        out.append(TierSpec(t["name"], t["model"]))
    return tuple(out)


def _task_type(name: str, raw: object, tiers: tuple[str, ...]) -> TaskType:
    where = f"tiers_escalation.task_types.{name}"
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping")
    use = raw.get("tiers", list(tiers))
    if not isinstance(use, list) or not use or any(t not in tiers for t in use):
        raise ConfigError(f"{where}.tiers: must be a non-empty list of tier names from {list(tiers)}")
    use = sorted(use, key=tiers.index)  # cheapest first, whatever order was written
    g = raw.get("gate") or {}
    gate = Gate(*(_num(g.get(k, d), f"{where}.gate.{k}", 0, 10) for k, d in
                  (("review_below", 4.0), ("approve_from", 7.0), ("escalate_below", 5.0))))
    if gate.review_below > gate.approve_from:
        raise ConfigError(f"{where}.gate: review_below must not exceed approve_from")
    start = raw.get("start_tier", use[0])
    if start not in use:
        raise ConfigError(f"{where}.start_tier: must be one of {use}")
    lang = raw.get("language", "")
    if not isinstance(lang, str):
        raise ConfigError(f"{where}.language: must be an ISO 639-1 code such as `en`")
    return TaskType(name, tuple(use), gate, use.index(start), lang.lower())


def _learning(raw: object) -> Learning:
    if not isinstance(raw, dict):
        raise ConfigError("tiers_escalation.learning: must be a mapping")
    base = Learning()
    hours = {k: _num(raw[k], f"tiers_escalation.learning.{k}", 0.001, 24 * 365) * 3600
             for k in ("validators_every_hours", "thresholds_every_hours", "assignments_every_hours") if k in raw}
    out = replace(base, **{k.replace("_hours", ""): v for k, v in hours.items()})
    if "enabled" in raw:
        out = replace(out, enabled=bool(raw["enabled"]))
    if "max_start_tier" in raw or "min_samples" in raw:
        out = replace(out, bounds=replace(out.bounds, max_start_tier=int(raw.get("max_start_tier", 2)),
                                          min_samples=max(1, int(raw.get("min_samples", 5)))))
    return out


def _num(v: object, where: str, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise ConfigError(f"{where}: must be a number from {lo} to {hi}")
    return float(v)
