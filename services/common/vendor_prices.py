"""Vendors' published prices, from the `genai-prices` package (pydantic's maintained LLM price database).

The package ships a snapshot of every vendor's prices (tiered prices, cache reads and cache writes
included); Tokenyard never asks it to download updates at run time, so a price changes when the pinned
version does, and router and meter, built from one image, price alike. Its Decimal dollars become
integer micro-dollars here, rounded half up once per request.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import genai_prices
from genai_prices import data_snapshot

_MICROS = Decimal(1_000_000)


@dataclass(frozen=True)
class VendorPrice:
    """One vendor model's prices; costs are exact for the token counts given (tiers, cache reads, writes)."""

    provider: object
    model: object
    source: str
    """`genai-prices <version>: <provider>/<model id>`, for logs and the price API."""
    known: bool = True

    def cost_micros(self, prompt: int, completion: int, cache_read: int = 0, cache_write: int = 0) -> int:
        read = max(0, min(cache_read, prompt))
        write = max(0, min(cache_write, prompt - read))
        usage = genai_prices.Usage(input_tokens=prompt, output_tokens=completion, cache_read_tokens=read,
                                   cache_write_tokens=write)
        calc = self.model.calc_price(usage, self.provider, genai_request_timestamp=datetime.now(tz=UTC))
        return int((calc.total_price * _MICROS).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class VendorPrices:
    """Looks models up in the bundled snapshot; None when the database does not know the model."""

    def __init__(self) -> None:
        self._snapshot = data_snapshot.get_snapshot()
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
        return VendorPrice(provider, info, f"genai-prices {genai_prices.__version__}: {provider.id}/{info.id}")
