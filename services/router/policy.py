"""Routing policy: the `routing:` section of the config file (retries, breakers, hedging, model groups).

```yaml
routing:
  retry:   {attempts: 3, base: 0.1, cap: 5.0}          # full-jitter exponential backoff, seconds
  breaker: {consecutive: 5, ratio: 0.5, min_calls: 20, window: 60, cooldown: 30, max_cooldown: 300, probes: 1}
  hedge_budget: 0.1        # hedges are at most this share of upstream calls
  cooldown_wait: 5         # seconds to wait for a cooling deployment before 503 + Retry-After
  provider_chains: {openai: [openai, minimax]}          # merged over the built-in defaults
  provider_default_models: {minimax: MiniMax-M2}        # the model each vendor falls back to
  groups:
    gpt-4o:
      strategy: p2c        # p2c | weighted | priority
      aliases: [gpt4o]
      fallbacks: [claude-sonnet, local-llama]
      context_window_fallbacks: [gpt-4.1]
      content_policy_fallbacks: [local-llama]
      hedge: {delay: 0.5, max: 1}                        # delay: seconds or "p95" (observed TTFT)
```
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from services.common.config_models import Section, parse

STRATEGIES = ("p2c", "weighted", "priority")
DEFAULT_CHAINS = {"openai": ("openai", "minimax"), "anthropic": ("anthropic", "openai", "minimax"),
                  "minimax": ("minimax", "openai")}
NonNegative = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]
Name = Annotated[str, Field(min_length=1)]


class RetryPolicy(Section):
    attempts: Count = 3
    """Attempts per model group (each may go to another deployment of the group)."""
    base: NonNegative = 0.1
    """Seconds; the n-th backoff is uniform(0, min(cap, base * 2**n)) (full jitter)."""
    cap: NonNegative = 5.0


class BreakerPolicy(Section):
    consecutive: Count = 5
    """Consecutive failures that open the breaker."""
    ratio: NonNegative = 0.5
    """...or this failure ratio over the window, once it holds `min_calls` calls."""
    min_calls: Count = 20
    window: NonNegative = 60.0
    """Seconds of the sliding window (six buckets)."""
    cooldown: NonNegative = 30.0
    """Seconds an opened breaker refuses calls; doubled after each failed probe up to `max_cooldown`."""
    max_cooldown: NonNegative = 300.0
    probes: Count = 1
    """Calls admitted at once while half-open."""


class HedgePolicy(Section):
    delay: NonNegative = 0.0
    """Seconds without a first token before a hedge starts (0 with `p95` off: hedging disabled).
    In the file, `delay: p95` means: use the observed p95 (sets `p95`)."""
    p95: bool = False
    """Use the deployment's observed p95 time to first token as the delay (falls back to `delay`)."""
    max: Count = 1
    """Hedges per request."""

    @model_validator(mode="before")
    @classmethod
    def _p95_delay(cls, raw: object) -> object:
        if isinstance(raw, dict) and raw.get("delay") == "p95":
            return {**{k: v for k, v in raw.items() if k != "delay"}, "p95": True}
        return raw

    @property
    def enabled(self) -> bool:
        return self.max > 0 and (self.delay > 0 or self.p95)


class GroupPolicy(Section):
    """How one public model name is served."""

    strategy: Literal["p2c", "weighted", "priority"] = "p2c"
    aliases: tuple[Name, ...] = ()
    fallbacks: tuple[Name, ...] = ()
    """Model groups tried, in order, when this one has no healthy deployment left."""
    context_window_fallbacks: tuple[Name, ...] = ()
    content_policy_fallbacks: tuple[Name, ...] = ()
    hedge: HedgePolicy = HedgePolicy()

    def referenced(self) -> dict[str, tuple[str, ...]]:
        """Each field that names other model groups, for the cross-reference check."""
        return {"fallbacks": self.fallbacks, "context_window_fallbacks": self.context_window_fallbacks,
                "content_policy_fallbacks": self.content_policy_fallbacks}


class RoutingPolicy(Section):
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    hedge_budget: NonNegative = 0.1
    cooldown_wait: NonNegative = 5.0
    groups: dict[str, GroupPolicy] = Field(default_factory=dict)
    provider_chains: dict[str, tuple[Name, ...]] = Field(default_factory=lambda: dict(DEFAULT_CHAINS))
    """Merged over the built-in defaults (a vendor named here replaces its default chain)."""
    provider_default_models: dict[str, Name] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _merge_default_chains(cls, raw: object) -> object:
        if isinstance(raw, dict) and isinstance(raw.get("provider_chains"), dict):
            return {**raw, "provider_chains": {**DEFAULT_CHAINS, **raw["provider_chains"]}}
        return raw

    def group(self, model: str) -> GroupPolicy:
        return self.groups.get(model) or _DEFAULT_GROUP

    def aliases(self) -> dict[str, str]:
        return {alias: name for name, g in self.groups.items() for alias in g.aliases}


_DEFAULT_GROUP = GroupPolicy()


def parse_routing(raw: object) -> RoutingPolicy:
    """The `routing:` section; errors name the field (`routing.groups.gpt-4o.strategy: ...`)."""
    return parse(RoutingPolicy, raw, "routing")
