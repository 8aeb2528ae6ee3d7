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

from dataclasses import dataclass, field

from services.common.env import ConfigError

STRATEGIES = ("p2c", "weighted", "priority")
DEFAULT_CHAINS = {"openai": ("openai", "minimax"), "anthropic": ("anthropic", "openai", "minimax"),
                  "minimax": ("minimax", "openai")}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    """Attempts per model group (each may go to another deployment of the group)."""
    base: float = 0.1
    """Seconds; the n-th backoff is uniform(0, min(cap, base * 2**n)) (full jitter)."""
    cap: float = 5.0


@dataclass(frozen=True)
class BreakerPolicy:
    consecutive: int = 5
    """Consecutive failures that open the breaker."""
    ratio: float = 0.5
    """...or this failure ratio over the window, once it holds `min_calls` calls."""
    min_calls: int = 20
    window: float = 60.0
    """Seconds of the sliding window (six buckets)."""
    cooldown: float = 30.0
    """Seconds an opened breaker refuses calls; doubled after each failed probe up to `max_cooldown`."""
    max_cooldown: float = 300.0
    probes: int = 1
    """Calls admitted at once while half-open."""


@dataclass(frozen=True)
class HedgePolicy:
    delay: float = 0.0
    """Seconds without a first token before a hedge starts (0 with `p95` off: hedging disabled)."""
    p95: bool = False
    """Use the deployment's observed p95 time to first token as the delay (falls back to `delay`)."""
    max: int = 1
    """Hedges per request."""

    @property
    def enabled(self) -> bool:
        return self.max > 0 and (self.delay > 0 or self.p95)


@dataclass(frozen=True)
class GroupPolicy:
    """How one public model name is served."""

    strategy: str = "p2c"
    aliases: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()
    """Model groups tried, in order, when this one has no healthy deployment left."""
    context_window_fallbacks: tuple[str, ...] = ()
    content_policy_fallbacks: tuple[str, ...] = ()
    hedge: HedgePolicy = HedgePolicy()


@dataclass(frozen=True)
class RoutingPolicy:
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    hedge_budget: float = 0.1
    cooldown_wait: float = 5.0
    groups: dict[str, GroupPolicy] = field(default_factory=dict)
    provider_chains: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_CHAINS))
    provider_default_models: dict[str, str] = field(default_factory=dict)

    def group(self, model: str) -> GroupPolicy:
        return self.groups.get(model) or _DEFAULT_GROUP

    def aliases(self) -> dict[str, str]:
        return {alias: name for name, g in self.groups.items() for alias in g.aliases}


_DEFAULT_GROUP = GroupPolicy()


def parse_routing(raw: object) -> RoutingPolicy:
    if raw is None:
        return RoutingPolicy()
    if not isinstance(raw, dict):
        raise ConfigError("routing: must be a mapping")
    chains = dict(DEFAULT_CHAINS)
    for vendor, chain in _mapping(raw, "provider_chains", "routing").items():
        chains[str(vendor)] = _names(chain, f"routing.provider_chains.{vendor}")
    defaults = {str(k): str(v) for k, v in _mapping(raw, "provider_default_models", "routing").items()}
    groups = {str(name): _group(f"routing.groups.{name}", g) for name, g in _mapping(raw, "groups", "routing").items()}
    return RoutingPolicy(
        retry=_fields(RetryPolicy, raw.get("retry"), "routing.retry"),
        breaker=_fields(BreakerPolicy, raw.get("breaker"), "routing.breaker"),
        hedge_budget=_num(raw.get("hedge_budget", 0.1), "routing.hedge_budget"),
        cooldown_wait=_num(raw.get("cooldown_wait", 5.0), "routing.cooldown_wait"),
        groups=groups, provider_chains=chains, provider_default_models=defaults)


def _group(where: str, raw: object) -> GroupPolicy:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping")
    strategy = raw.get("strategy", "p2c")
    if strategy not in STRATEGIES:
        raise ConfigError(f"{where}.strategy: must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    hedge_raw = dict(raw.get("hedge") or {})
    p95 = hedge_raw.get("delay") == "p95"
    if p95:
        hedge_raw.pop("delay")
    hedge = _fields(HedgePolicy, hedge_raw, f"{where}.hedge")
    return GroupPolicy(strategy=strategy, aliases=_names(raw.get("aliases", []), f"{where}.aliases"),
                       fallbacks=_names(raw.get("fallbacks", []), f"{where}.fallbacks"),
                       context_window_fallbacks=_names(raw.get("context_window_fallbacks", []),
                                                       f"{where}.context_window_fallbacks"),
                       content_policy_fallbacks=_names(raw.get("content_policy_fallbacks", []),
                                                       f"{where}.content_policy_fallbacks"),
                       hedge=HedgePolicy(delay=hedge.delay, p95=p95, max=hedge.max))


def _fields(cls, raw: object, where: str):
    """Builds a policy dataclass from a mapping, checking names and that values are non-negative numbers."""
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping")
    known = cls.__dataclass_fields__
    values = {}
    for key, v in raw.items():
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown setting (known: {', '.join(known)})")
        kind = type(getattr(cls(), key))
        values[key] = int(_num(v, f"{where}.{key}")) if kind is int else _num(v, f"{where}.{key}")
    return cls(**values)


def _num(v: object, where: str) -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
        raise ConfigError(f"{where}: must be a non-negative number")
    return float(v)


def _mapping(raw: dict, key: str, where: str) -> dict:
    v = raw.get(key) or {}
    if not isinstance(v, dict):
        raise ConfigError(f"{where}.{key}: must be a mapping")
    return v


def _names(v: object, where: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(f"{where}: must be a list of names")
    return tuple(v)
