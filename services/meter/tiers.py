"""Managed tiers from the `tiers:` config section, and which model a tier request gets.

Tiers are ordered by their monthly price; `degrade` sends an over-quota subject's tier requests to
the next cheaper tier's model (the cheapest tier has nowhere cheaper to go, so it keeps its model and
only logs). A caller may use its own tier or a cheaper one, never a dearer one.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.common.env import ConfigError
from services.common.pricing import micros_per_million

TIER_PREFIX = "tier/"
AUTO_MODEL = "tier/auto"
POLICIES = ("log", "degrade", "block")

# The defaults, used when the config file has no `tiers:` section.
DEFAULT_TIERS = {
    "economy": {"model": "MiniMax-M2.5", "monthly_tokens": 2_000_000, "price_usd": 5, "overage_policy": "log"},
    "standard": {"model": "gpt-4o-mini", "monthly_tokens": 5_000_000, "price_usd": 10, "overage_policy": "log"},
    "premium": {"model": "gpt-4o", "monthly_tokens": 10_000_000, "price_usd": 20, "overage_policy": "log"},
}


@dataclass(frozen=True)
class Tier:
    name: str
    model: str
    """The model a tier request is routed to."""
    monthly_tokens: int
    """Fair-use quota of total tokens per UTC month, per subject (agent, else key)."""
    price_micros: int
    """What the tier costs per month, in micro-dollars (orders the tiers for `degrade`)."""
    overage_policy: str = "log"


@dataclass(frozen=True)
class TierBook:
    tiers: tuple[Tier, ...] = ()
    """Cheapest first."""

    def get(self, name: str) -> Tier | None:
        return next((t for t in self.tiers if t.name == name), None)

    def cheaper(self, tier: Tier) -> Tier | None:
        """The next cheaper tier, or None for the cheapest."""
        i = self.tiers.index(tier)
        return self.tiers[i - 1] if i > 0 else None

    def requested(self, model: str, caller_tier: str) -> str | None:
        """The tier name a request asks for (`tier/x`, or no model on a tier), else None."""
        if model == AUTO_MODEL:
            return None  # cost-first escalation: the router picks the tier from the answer (issue 9)
        if model.startswith(TIER_PREFIX):
            return model[len(TIER_PREFIX):]
        if not model and caller_tier:
            return caller_tier
        return None

    @classmethod
    def from_config(cls, raw: dict | None) -> "TierBook":
        raw = DEFAULT_TIERS if raw is None else raw
        if not isinstance(raw, dict):
            raise ConfigError("tiers: must be a mapping of tier name -> {model, monthly_tokens, price_usd}")
        tiers = [_tier(str(name), spec) for name, spec in raw.items()]
        return cls(tuple(sorted(tiers, key=lambda t: (t.price_micros, t.name))))


def _tier(name: str, spec: object) -> Tier:
    where = f"tiers.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: must be a mapping with model, monthly_tokens, price_usd")
    unknown = set(spec) - {"model", "monthly_tokens", "price_usd", "overage_policy"}
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown field")
    model = spec.get("model")
    if not isinstance(model, str) or not model:
        raise ConfigError(f"{where}.model: required, a model name")
    tokens = spec.get("monthly_tokens")
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens <= 0:
        raise ConfigError(f"{where}.monthly_tokens: required, a positive integer")
    policy = spec.get("overage_policy", "log")
    if policy not in POLICIES:
        raise ConfigError(f"{where}.overage_policy: must be one of {', '.join(POLICIES)}, got {policy!r}")
    # $ per month, exact: the same parser as prices ($X -> X * 1e6 micro-dollars).
    price = micros_per_million(f"{where}.price_usd", spec.get("price_usd", 0))
    return Tier(name, model, tokens, price, policy)
