"""What a request cost, in integer micro-dollars: vendors' prices (genai-prices) under the operator's overrides.

Money is integers end to end: a price of $X per 1M tokens is stored as X * 1e6 micro-dollars per
1M tokens (exact, parsed through Decimal, never a binary float), and a request's cost is the exact
sum over its token kinds divided once by 1M and rounded half up. So the router's `cost_micros` in a
final message and the meter's ledger agree to the micro-dollar, and sums never drift.

Lookup order for (deployment, model), first match wins:
  1. `pricing.deployments.<dep>.<model>`, then `pricing.deployments.<dep>."*"`
  2. the deployment's own `price:`
  3. `pricing.models.<model>`, then the longest `pricing.models."prefix*"` pattern
  4. genai-prices, for the deployment's `vendor:` (else its base URL) and the upstream model name
  5. unknown: never a silent 0. The cost is reported as unknown and budgets refuse the model.
Prompt tokens include cache reads and cache writes (OpenAI's convention; the Anthropic adapter adds
them up). Cache reads cost `cached_input` and cache writes `cache_write`, each `input` when unset.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Protocol

from pydantic import BeforeValidator, Field, PrivateAttr

from services.common.config_models import Section, parse
from services.common.env import ConfigError
from services.common.vendor_prices import VendorPrices

_MILLION = 1_000_000


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


def _micros(value: object) -> int:
    try:
        return micros_per_million("", value)
    except ConfigError as exc:
        raise ValueError(str(exc).removeprefix(": ")) from None


Micros = Annotated[int, BeforeValidator(_micros)]
"""In the file: $ per 1M tokens (exact decimal). Parsed: micro-dollars per 1M tokens."""


class Usage(Protocol):
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int


class Price(Protocol):
    known: bool
    source: str

    def cost_micros(self, prompt: int, completion: int, cache_read: int = 0, cache_write: int = 0) -> int: ...


class FlatPrice(Section):
    """An operator's price ($ per 1M tokens in the file); `input` and `output` are required, so
    `{input: 0, output: 0}` is how a model is declared free."""

    input: Micros
    output: Micros
    cached_input: Micros | None = None
    """Cache reads (OpenAI cached input, Anthropic cache_read); None: the input price."""
    cache_write: Micros | None = None
    """Cache writes (Anthropic cache_creation); None: the input price."""
    _source: str = PrivateAttr(default="config")

    @property
    def source(self) -> str:
        """Where the price was written (`pricing.models.gpt-4o`, `deployments.fake.price`), for logs and APIs."""
        return self._source

    def from_(self, source: str) -> "FlatPrice":
        out = self.model_copy()
        out._source = source
        return out

    @property
    def known(self) -> bool:
        return True

    def cost_micros(self, prompt: int, completion: int, cache_read: int = 0, cache_write: int = 0) -> int:
        read = max(0, min(cache_read, prompt))
        write = max(0, min(cache_write, prompt - read))
        read_price = self.input if self.cached_input is None else self.cached_input
        write_price = self.input if self.cache_write is None else self.cache_write
        scaled = ((prompt - read - write) * self.input + read * read_price + write * write_price
                  + completion * self.output)
        return (scaled + _MILLION // 2) // _MILLION

    def as_dollars(self) -> dict[str, str]:
        """For APIs: exact decimal strings of $ per 1M tokens."""
        out = {"input": _dollars(self.input), "output": _dollars(self.output)}
        for name in ("cached_input", "cache_write"):
            if getattr(self, name) is not None:
                out[name] = _dollars(getattr(self, name))
        return out


@dataclass(frozen=True)
class Unknown:
    """No price anywhere: costs are reported as unknown (0 is only what gets summed, never what is shown)."""

    known: bool = False
    source: str = "unknown"

    def cost_micros(self, prompt: int, completion: int, cache_read: int = 0, cache_write: int = 0) -> int:
        return 0


UNKNOWN = Unknown()


class PricingSection(Section):
    """The `pricing:` section: overrides of the vendors' prices."""

    models: dict[str, FlatPrice] = Field(default_factory=dict)
    deployments: dict[str, dict[str, FlatPrice]] = Field(default_factory=dict)


class Priced(Protocol):
    """What pricing needs of a deployment (services.router.config.Deployment is one)."""

    name: str
    vendor: str
    base_url: str
    price: FlatPrice | None

    def serves(self, model: str) -> str | None: ...


@dataclass(frozen=True)
class PriceBook:
    models: dict[str, FlatPrice] = field(default_factory=dict)
    overrides: dict[str, dict[str, FlatPrice]] = field(default_factory=dict)
    """`pricing.deployments`: deployment -> model (or "*") -> price."""
    deployments: tuple[Priced, ...] = ()
    vendor: VendorPrices | None = None
    """genai-prices; None (unit tests of overrides) means only the config prices anything."""

    def price(self, model: str, deployment: str = "", upstream: str = "") -> Price:
        """The price of `model` served by `deployment` (empty: the dearest deployment that serves it)."""
        if not deployment:
            return max(self.candidates(model), key=_rank)
        dep = next((d for d in self.deployments if d.name == deployment), None)
        over = self.overrides.get(deployment) or {}
        if model in over or "*" in over:
            return over.get(model) or over["*"]
        if dep is not None and dep.price is not None:
            return dep.price
        found = self._model_price(model)
        if found is not None:
            return found
        if self.vendor is None:
            return UNKNOWN
        name = upstream or (dep.serves(model) if dep is not None else None) or model
        if dep is not None and not (dep.vendor or dep.base_url):
            return UNKNOWN  # a built-in or self-hosted server: no vendor whose price list could apply
        hit = self.vendor.find(name, dep.vendor, dep.base_url) if dep is not None else self.vendor.find(name)
        return hit or UNKNOWN

    def _model_price(self, model: str) -> FlatPrice | None:
        if model in self.models:
            return self.models[model]
        best = max((p for p in self.models if p.endswith("*") and model.startswith(p[:-1])), key=len, default="")
        return self.models[best] if best else None

    def candidates(self, model: str) -> list[Price]:
        """Every price the model may be served at: one per configured deployment that serves it."""
        serving = [d for d in self.deployments if d.serves(model) is not None]
        if not serving:
            return [self._model_price(model) or (self.vendor.find(model) if self.vendor else None) or UNKNOWN]
        return [self.price(model, d.name) for d in serving]

    def known(self, model: str) -> bool:
        """False when some deployment that may serve `model` has no price (so a budget cannot bound it)."""
        return all(p.known for p in self.candidates(model))

    def quote(self, model: str, deployment: str, usage: Usage, upstream: str = "") -> tuple[int, bool]:
        """(micro-dollars, known) of one request; a pure function of the config, the model, its deployment
        and usage. A deployment this book does not know (a record from the edge, a registered node) is
        priced at the dearest deployment that serves the model."""
        counts = (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens,
                  getattr(usage, "cache_write_tokens", 0))
        if deployment and any(d.name == deployment for d in self.deployments) or deployment in self.overrides:
            price = self.price(model, deployment, upstream)
            return price.cost_micros(*counts), price.known
        prices = self.candidates(model) if not upstream else [self.price(model, deployment, upstream)]
        return max(p.cost_micros(*counts) for p in prices), all(p.known for p in prices)

    def cost_micros(self, model: str, deployment: str, usage: Usage, upstream: str = "") -> int:
        return self.quote(model, deployment, usage, upstream)[0]

    def worst_case_micros(self, model: str, prompt_tokens: int, completion_tokens: int) -> int:
        """Most a request could cost on any deployment that may serve it (for budget reservations)."""
        return max(p.cost_micros(prompt_tokens, completion_tokens) for p in self.candidates(model))

    def output_micros_per_million(self, model: str, prompt_tokens: int) -> int:
        """The dearest price of 1M more completion tokens after this prompt (tiers follow the prompt)."""
        return max(p.cost_micros(prompt_tokens, _MILLION) - p.cost_micros(prompt_tokens, 0)
                   for p in self.candidates(model))

    def unpriced(self) -> list[tuple[str, str]]:
        """(deployment, model) of every model a deployment names exactly that has no price, for the start log."""
        return [(d.name, r.name) for d in self.deployments for r in getattr(d, "models", ())
                if not r.name.endswith("*") and not self.price(r.name, d.name, r.upstream).known]

    @classmethod
    def from_config(cls, raw: object, deployments: tuple[Priced, ...] = (),
                    vendor: VendorPrices | None = None) -> "PriceBook":
        """Parses the `pricing:` section; errors name the field (`pricing.models.gpt-4o.input`)."""
        section = parse(PricingSection, raw, "pricing")
        models = {k: v.from_(f"pricing.models.{k}") for k, v in section.models.items()}
        overrides = {d: {m: p.from_(f"pricing.deployments.{d}.{m}") for m, p in v.items()}
                     for d, v in section.deployments.items()}
        return cls(models, overrides, tuple(deployments), vendor)


def _rank(p: Price) -> tuple[int, int]:
    """Unknown ranks dearest (nothing bounds it), then by a reference request's cost."""
    return (0 if p.known else 1, p.cost_micros(1000, 1000))


def _dollars(micros: int) -> str:
    return format((Decimal(micros) / _MILLION).normalize(), "f") if micros else "0"
