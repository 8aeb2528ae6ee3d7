"""Prices from the `pricing:` config section and the cost of a request in integer micro-dollars.

Money is integers end to end: a price of $X per 1M tokens is stored as X * 1e6 micro-dollars per
1M tokens (exact, parsed through Decimal, never a binary float), and a request's cost is the exact
sum over its token kinds divided once by 1M and rounded half up. So the router's `cost_micros` in a
final message and the meter's ledger agree to the micro-dollar, and sums never drift.

Lookup order for (deployment, model): `deployments.<dep>.<model>`, `deployments.<dep>."*"`,
`models.<model>`, the longest `models."prefix*"` pattern; anything unpriced (self-hosted, custom
endpoints) costs 0. Prompt tokens include cached ones (OpenAI's convention); cached tokens cost
`cached_input`, or `input` when no cached price is set.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Protocol

from services.common.env import ConfigError

_MILLION = 1_000_000


class UsageLike(Protocol):
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int


@dataclass(frozen=True)
class Price:
    """Micro-dollars per 1M tokens (equal to $ per 1M tokens times 1e6)."""

    input: int = 0
    output: int = 0
    cached_input: int | None = None
    """None: cached prompt tokens cost the input price."""

    def cost_micros(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> int:
        cached = max(0, min(cached_tokens, prompt_tokens))
        cached_price = self.input if self.cached_input is None else self.cached_input
        scaled = (prompt_tokens - cached) * self.input + cached * cached_price + completion_tokens * self.output
        return (scaled + _MILLION // 2) // _MILLION

    def as_dollars(self) -> dict[str, str]:
        """For APIs: exact decimal strings of $ per 1M tokens."""
        out = {"input": _dollars(self.input), "output": _dollars(self.output)}
        if self.cached_input is not None:
            out["cached_input"] = _dollars(self.cached_input)
        return out


FREE = Price()


@dataclass(frozen=True)
class PriceBook:
    models: dict[str, Price] = field(default_factory=dict)
    deployments: dict[str, dict[str, Price]] = field(default_factory=dict)

    def price(self, model: str, deployment: str = "") -> Price:
        dep = self.deployments.get(deployment) if deployment else None
        if dep:
            if model in dep:
                return dep[model]
            if "*" in dep:
                return dep["*"]
        if model in self.models:
            return self.models[model]
        best = ""
        for pattern in self.models:
            if pattern.endswith("*") and model.startswith(pattern[:-1]) and len(pattern) > len(best):
                best = pattern
        return self.models[best] if best else FREE

    def cost_micros(self, model: str, deployment: str, usage: UsageLike) -> int:
        """Cost of one request; a pure function of the config, the model, its deployment and usage."""
        return self.price(model, deployment).cost_micros(usage.prompt_tokens, usage.completion_tokens,
                                                         usage.cached_tokens)

    def candidates(self, model: str) -> list[Price]:
        """Every price the model may be served at (its own, and each deployment's override)."""
        return [self.price(model)] + [self.price(model, dep) for dep in self.deployments]

    def worst_case_micros(self, model: str, prompt_tokens: int, completion_tokens: int) -> int:
        """Most a request could cost on any deployment that may serve it (for budget reservations)."""
        return max(p.cost_micros(prompt_tokens, completion_tokens) for p in self.candidates(model))

    @classmethod
    def from_config(cls, raw: dict | None) -> "PriceBook":
        """Parses the `pricing:` section; errors name the field (`pricing.models.gpt-4o.input`)."""
        raw = raw or {}
        if not isinstance(raw, dict):
            raise ConfigError("pricing: must be a mapping with `models:` and optional `deployments:`")
        models = _price_map("pricing.models", {} if raw.get("models") is None else raw["models"])
        deps_raw = {} if raw.get("deployments") is None else raw["deployments"]
        if not isinstance(deps_raw, dict):
            raise ConfigError("pricing.deployments: must be a mapping of deployment name -> {model: price}")
        deployments = {str(d): _price_map(f"pricing.deployments.{d}", v) for d, v in deps_raw.items()}
        return cls(models, deployments)


def _price_map(where: str, raw: object) -> dict[str, Price]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping of model name -> {{input, output, cached_input}}")
    return {str(name): _price(f"{where}.{name}", value) for name, value in raw.items()}


def _price(where: str, raw: object) -> Price:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping with `input` and `output` ($ per 1M tokens)")
    unknown = set(raw) - {"input", "output", "cached_input"}
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown field (use input, output, cached_input)")
    cached = raw.get("cached_input")
    return Price(input=micros_per_million(f"{where}.input", raw.get("input", 0)),
                 output=micros_per_million(f"{where}.output", raw.get("output", 0)),
                 cached_input=None if cached is None else micros_per_million(f"{where}.cached_input", cached))


def micros_per_million(where: str, value: object) -> int:
    """$ per 1M tokens (number or decimal string) -> exact integer micro-dollars per 1M tokens."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{where}: must be a number of $ per 1M tokens")
    try:
        # str() first: YAML gives 0.075 as a binary float; its shortest repr is the decimal the user wrote.
        amount = Decimal(str(value)) * _MILLION
    except InvalidOperation:
        raise ConfigError(f"{where}: must be a number of $ per 1M tokens, got {value!r}") from None
    if amount < 0 or amount != amount.to_integral_value():
        raise ConfigError(f"{where}: must be >= 0 with at most 6 decimal places, got {value!r}")
    return int(amount)


def _dollars(micros: int) -> str:
    return format((Decimal(micros) / _MILLION).normalize(), "f") if micros else "0"
