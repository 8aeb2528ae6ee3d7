"""Managed tiers from the `tiers:` config section, and which model a tier request gets.

Tiers are ordered by their monthly price; `degrade` sends an over-quota subject's tier requests to
the next cheaper tier's model (the cheapest tier has nowhere cheaper to go, so it keeps its model and
only logs). A caller may use its own tier or a cheaper one, never a dearer one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from services.common.config_models import Section, parse
from services.common.pricing import Micros

TIER_PREFIX = "tier/"
AUTO_MODEL = "tier/auto"
POLICIES = ("log", "degrade", "block")

# The defaults, used when the config file has no `tiers:` section.
DEFAULT_TIERS = {"tiers": {
    "economy": {"model": "MiniMax-M2.5", "monthly_tokens": 2_000_000, "price_usd": 5, "overage_policy": "log"},
    "standard": {"model": "gpt-4o-mini", "monthly_tokens": 5_000_000, "price_usd": 10, "overage_policy": "log"},
    "premium": {"model": "gpt-4o", "monthly_tokens": 10_000_000, "price_usd": 20, "overage_policy": "log"},
}}


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
        """The `tiers:` section (the issue's defaults when absent); errors name the field (`tiers.gold.model`)."""
        section = parse(TiersSection, DEFAULT_TIERS if raw is None else {"tiers": raw}, "")
        tiers = [Tier(name, t.model, t.monthly_tokens, t.price_usd, t.overage_policy) for name, t in section.tiers.items()]
        return cls(tuple(sorted(tiers, key=lambda t: (t.price_micros, t.name))))


class TierSpec(Section):
    model: str = Field(min_length=1)
    monthly_tokens: int = Field(gt=0)
    price_usd: Micros = 0
    """$ per month, exact (the price parser: $X -> X * 1e6 micro-dollars)."""
    overage_policy: Literal["log", "degrade", "block"] = "log"


class TiersSection(Section):
    tiers: dict[str, TierSpec]
