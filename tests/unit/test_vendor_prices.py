"""Vendor prices: Tokenyard's per-tier rates give exactly what genai-prices computes, tiers and caches included."""
from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

import genai_prices
import pytest

from services.common.vendor_prices import VendorPrices

MODELS = [("claude-sonnet-4-5", "anthropic"), ("claude-haiku-4-5", "anthropic"), ("gpt-4o", "openai"),
          ("gpt-4.1", "openai"), ("text-embedding-3-small", "openai"), ("gemini-2.5-pro", "google"),
          ("MiniMax-M2.5", "minimax")]


def reference(model: str, vendor: str, prompt: int, completion: int, read: int, write: int) -> int:
    usage = genai_prices.Usage(input_tokens=prompt, output_tokens=completion, cache_read_tokens=read,
                               cache_write_tokens=write)
    total = genai_prices.calc_price(usage, model, provider_id=vendor).total_price
    return int((total * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize("model, vendor", MODELS)
def test_costs_equal_genai_prices_across_tiers_and_caches(model, vendor):
    price = VendorPrices().find(model, vendor)
    assert price is not None and price.known
    rng = random.Random(model)
    cases = [(199_999, 10, 0, 0), (200_000, 10, 0, 0), (200_001, 10, 0, 0), (1, 0, 0, 0), (0, 5, 0, 0)]
    for _ in range(40):
        prompt = rng.choice([rng.randint(0, 5000), rng.randint(150_000, 400_000)])
        read = rng.randint(0, prompt)
        cases.append((prompt, rng.randint(0, 4000), read, rng.randint(0, prompt - read)))
    for prompt, completion, read, write in cases:
        assert price.cost_micros(prompt, completion, read, write) == reference(
            model, vendor, prompt, completion, read, write), (prompt, completion, read, write)


def test_unknown_models_and_vendors_are_none():
    prices = VendorPrices()
    assert prices.find("llama3.2:latest", "ollama") is None
    assert prices.find("gpt-4o", "anthropic") is None
    assert prices.find("claude-sonnet-4-5", base_url="http://127.0.0.1:9/v1") is None
    assert prices.find("claude-sonnet-4-5", base_url="https://api.anthropic.com/v1").source.endswith(
        "anthropic/claude-sonnet-4-5")
