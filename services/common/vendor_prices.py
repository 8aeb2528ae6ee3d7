"""Vendors' published prices, from the `genai-prices` package (pydantic's maintained LLM price database).

The package ships a snapshot of every vendor's prices (tiered prices, cache reads and cache writes
included); Tokenyard never asks it to download updates at run time, so a price changes when the pinned
version does, and router and meter, built from one image, price alike. Its Decimal dollars become
integer micro-dollars here, rounded half up once per request.
"""
from __future__ import annotations

import bisect
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

_MICROS = Decimal(1_000_000)
_PROBE = 1_000_000


class VendorPrice:
    """One vendor model's prices; costs are exact for the token counts given (tiers, cache reads, writes).

    genai-prices takes about half a millisecond per calculation, too slow for every answer and every budget
    reservation; but within one price tier (tiers switch on the prompt's size) a cost is linear in the
    token counts. So each tier's per-token rates are read once from genai-prices itself (by pricing
    probe usages) and a request's cost is then four exact Decimal products, identical to genai-prices'.
    """

    known = True

    def __init__(self, provider, model, source: str, when: datetime | None = None) -> None:
        from genai_prices.types import TieredPrices

        self.provider, self.model, self.source = provider, model, source
        self._when = when or datetime.now(tz=UTC)
        prices = model.get_prices(self._when)
        self._starts = sorted({t.start for v in vars(prices).values() if isinstance(v, TieredPrices)
                               for t in v.tiers})
        self._bands: dict[int, tuple[Decimal, Decimal, Decimal, Decimal, Decimal]] = {}

    def cost_micros(self, prompt: int, completion: int, cache_read: int = 0, cache_write: int = 0) -> int:
        read = max(0, min(cache_read, prompt))
        write = max(0, min(cache_write, prompt - read))
        fee, r_in, r_read, r_write, r_out = self._rates(prompt)
        dollars = fee + (prompt - read - write) * r_in + read * r_read + write * r_write + completion * r_out
        return int((dollars * _MICROS).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def _rates(self, prompt: int) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        band = bisect.bisect_left(self._starts, prompt)  # tiers apply when the prompt exceeds their start
        if band not in self._bands:
            self._bands[band] = self._probe(self._starts[band - 1] + 1 if band else 1)
        return self._bands[band]

    def _probe(self, n: int) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        """Per-token rates (and any per-request fee) for prompts of `n` tokens' tier, from genai-prices."""
        from genai_prices import Usage

        def dollars(**usage) -> Decimal:
            calc = self.model.calc_price(Usage(**usage), self.provider, genai_request_timestamp=self._when)
            return calc.total_price
        fee = dollars(input_tokens=0, output_tokens=0)
        base = dollars(input_tokens=n)
        out = (dollars(input_tokens=n, output_tokens=_PROBE) - base) / _PROBE
        return (fee, (base - fee) / n, (dollars(input_tokens=n, cache_read_tokens=n) - fee) / n,
                (dollars(input_tokens=n, cache_write_tokens=n) - fee) / n, out)


class VendorPrices:
    """Looks models up in the bundled snapshot; None when the database does not know the model.

    The database (about 14 MB resident) is loaded here, when a service that prices builds its config
    (router, meter), never merely by importing this module (the edge imports pricing types only)."""

    def __init__(self) -> None:
        from genai_prices import data_snapshot

        self._snapshot = data_snapshot.get_snapshot()
        self._snapshot.find_provider_model("gpt-4o", None, "openai", None)  # load it now, not on a request
        self._cache: dict[tuple[str, str, str], VendorPrice | None] = {}

    def find(self, model: str, vendor: str = "", base_url: str = "") -> VendorPrice | None:
        """`vendor` (a genai-prices provider id such as `anthropic`) or else `base_url` says whose price list
        to read; with neither, the database picks the vendor that best matches the model name."""
        key = (model, vendor, base_url)
        if key not in self._cache:
            self._cache[key] = self._find(*key)
        return self._cache[key]

    def _find(self, model: str, vendor: str, base_url: str) -> VendorPrice | None:
        try:
            provider, info = self._snapshot.find_provider_model(model, None, vendor or None,
                                                                None if vendor else (base_url or None))
        except LookupError:
            return None
        from genai_prices import __version__

        return VendorPrice(provider, info, f"genai-prices {__version__}: {provider.id}/{info.id}")
