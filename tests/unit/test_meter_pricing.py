"""Cost math for every pricing shape, exact in integer micro-dollars, the lookup order (overrides over
genai-prices), cache pricing, unknown prices, and config errors that name the field."""
from __future__ import annotations

import pytest
import yaml

from services.common.config_file import DEFAULT_PATH
from services.common.env import ConfigError
from services.common.pricing import PriceBook
from services.common.vendor_prices import VendorPrices
from services.router.config_parse import configured
from tokenyard.common.v1 import common_pb2

BOOK = PriceBook.from_config({
    "models": {
        "gpt-4o": {"input": 2.50, "output": 10.00, "cached_input": 1.25},
        "gpt-4o-mini": {"input": 0.15, "output": 0.60},          # no cached price: cached cost the input price
        "cheap-*": {"input": "0.000001", "output": 1},           # pattern, 6-decimal price as a string
        "cheap-special-*": {"input": 3, "output": 3},
    },
    "deployments": {
        "azure-east": {"gpt-4o": {"input": 2.75, "output": 11.00}},
        "ollama": {"*": {"input": 0, "output": 0}},
    },
})


def usage(prompt: int, completion: int, cached: int = 0, written: int = 0) -> common_pb2.Usage:
    return common_pb2.Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                            cached_tokens=cached, cache_write_tokens=written)


def test_input_and_output_prices():
    # 1000 * 2.50 + 500 * 10.00 = 2500 + 5000 $/1M units -> 0.0075 $ = 7500 micro-dollars
    assert BOOK.cost_micros("gpt-4o", "openai", usage(1000, 500)) == 7500


def test_cached_input_price_applies_to_cached_prompt_tokens_only():
    # 600 uncached * 2.50 + 400 cached * 1.25 + 500 * 10 = 1500 + 500 + 5000
    assert BOOK.cost_micros("gpt-4o", "openai", usage(1000, 500, cached=400)) == 7000


def test_cached_tokens_without_cached_price_cost_the_input_price():
    assert BOOK.cost_micros("gpt-4o-mini", "", usage(1000, 0, cached=1000)) == BOOK.cost_micros(
        "gpt-4o-mini", "", usage(1000, 0)) == 150


def test_deployment_override_wins_over_the_model_price():
    assert BOOK.cost_micros("gpt-4o", "azure-east", usage(1000, 500)) == 2750 + 5500


def test_deployment_wildcard_makes_self_hosted_free():
    assert BOOK.cost_micros("gpt-4o", "ollama", usage(10**6, 10**6)) == 0


def test_unpriced_models_are_unknown_not_free():
    price = BOOK.price("llama3.2", "vllm")
    assert price.known is False and not BOOK.known("llama3.2")
    assert BOOK.price("gpt-4o", "ollama").known  # declared free is known


def test_longest_pattern_wins():
    assert BOOK.price("cheap-special-x").input == 3_000_000
    assert BOOK.price("cheap-x").input == 1


def test_rounding_is_half_up_on_the_exact_sum_so_repeated_costs_do_not_drift():
    # 0.15 $/1M * 3 tokens = 0.45 micro-dollars -> 0; 0.15 * 4 = 0.6 -> 1
    assert BOOK.cost_micros("gpt-4o-mini", "", usage(3, 0)) == 0
    assert BOOK.cost_micros("gpt-4o-mini", "", usage(4, 0)) == 1
    # A million 1-token requests at 1 $/1M output each cost exactly 1 micro-dollar: $1 in total, no float drift.
    assert sum(BOOK.cost_micros("cheap-x", "", usage(0, 1)) for _ in range(1000)) * 1000 == 1_000_000


def test_float_prices_parse_exactly():
    book = PriceBook.from_config({"models": {"m": {"input": 0.1, "output": 0.2, "cached_input": 0.075}}})
    p = book.price("m")
    assert (p.input, p.output, p.cached_input) == (100_000, 200_000, 75_000)
    assert p.as_dollars() == {"input": "0.1", "output": "0.2", "cached_input": "0.075"}


def test_worst_case_takes_the_dearest_deployment():
    book = book_of("""
deployments:
  - {name: openai, provider: openai, vendor: openai, base_url: 'https://api.openai.com/v1', models: [gpt-4o]}
  - {name: azure-east, provider: openai, base_url: 'https://x.example/v1', models: [gpt-4o]}
pricing:
  deployments: {azure-east: {gpt-4o: {input: 2.75, output: 11.00}}}
""")
    assert book.worst_case_micros("gpt-4o", 1000, 1000) == 2750 + 11000


def book_of(text: str) -> PriceBook:
    raw = yaml.safe_load(text)
    return PriceBook.from_config(raw.get("pricing"), configured(raw), VendorPrices())


LOOKUP = """
deployments:
  - {name: a, provider: anthropic, vendor: anthropic, base_url: 'http://127.0.0.1:9/v1',
     models: [{name: claude-sonnet, upstream: claude-sonnet-4-5}, claude-haiku-4-5, claude-opus-4-1, gpt-4o]}
  - {name: own, provider: openai, base_url: 'http://10.0.0.1/v1', price: {input: 1, output: 2}, models: [claude-haiku-4-5, m]}
  - {name: bare, provider: openai, base_url: 'http://10.0.0.2/v1', models: [claude-haiku-4-5, local]}
  - {name: api, provider: openai, base_url: 'https://api.openai.com/v1', models: [gpt-4o]}
pricing:
  models: {claude-opus-4-1: {input: 7, output: 8}}
  deployments: {a: {claude-haiku-4-5: {input: 0.5, output: 0.5}}, own: {m: {input: 9, output: 9}}}
"""


def test_lookup_order_overrides_then_deployment_price_then_models_then_genai_prices():
    book = book_of(LOOKUP)
    u = usage(100_000, 0)
    assert book.cost_micros("claude-haiku-4-5", "a", u) == 50_000         # pricing.deployments.a.<model>
    assert book.cost_micros("m", "own", u) == 900_000                     # ... beats the deployment's price:
    assert book.cost_micros("claude-haiku-4-5", "own", u) == 100_000      # the deployment's own price:
    assert book.cost_micros("claude-opus-4-1", "a", u) == 700_000          # pricing.models beats genai-prices
    assert book.cost_micros("claude-sonnet", "a", u) == 300_000            # genai-prices: vendor + upstream name
    assert book.cost_micros("gpt-4o", "api", u) == 250_000                 # genai-prices by base URL
    # genai-prices' tiers apply: past 200k prompt tokens, claude-sonnet-4-5 costs $6 per 1M input tokens.
    assert book.cost_micros("claude-sonnet", "a", usage(10**6, 0)) == 6_000_000
    assert book.price("gpt-4o", "a").known is False                        # anthropic does not sell gpt-4o
    assert book.price("local", "bare").known is False                      # no vendor, no known URL: unknown
    assert book.unpriced() == [("a", "gpt-4o"), ("bare", "claude-haiku-4-5"), ("bare", "local")]
    assert "genai-prices" in book.price("claude-sonnet", "a").source


def test_anthropic_cache_reads_and_writes_cost_what_the_vendor_charges():
    book = book_of(LOOKUP)
    # claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 cache write, $15 output per 1M tokens.
    # 1000 prompt tokens = 500 uncached + 200 read + 300 written; 100 out.
    assert book.cost_micros("claude-sonnet", "a", usage(1000, 100, cached=200, written=300)) == (
        500 * 3 + 200 * 0.3 + 300 * 3.75 + 100 * 15)


def test_openai_cached_input_costs_what_the_vendor_charges():
    book = book_of(LOOKUP)
    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per 1M tokens.
    assert book.cost_micros("gpt-4o", "api", usage(1000, 100, cached=400)) == 600 * 2.5 + 400 * 1.25 + 100 * 10


def test_configured_cache_write_price_applies_to_written_tokens():
    book = PriceBook.from_config({"models": {"m": {"input": 1, "output": 0, "cached_input": 0.1, "cache_write": 2}}})
    assert book.cost_micros("m", "", usage(1000, 0, cached=100, written=400)) == 500 + 10 + 800


def test_a_model_nobody_serves_is_priced_by_name_or_unknown():
    book = book_of(LOOKUP)
    assert book.known("claude-opus-4-1") and book.known("gpt-4o-mini")
    assert not book.known("no-such-model-anywhere")


@pytest.mark.parametrize("raw, field", [
    ({"models": {"m": {"input": "abc"}}}, "pricing.models.m.input"),
    ({"models": {"m": {"input": -1}}}, "pricing.models.m.input"),
    ({"models": {"m": {"input": 0.0000001}}}, "pricing.models.m.input"),
    ({"models": {"m": {"inptu": 1}}}, "pricing.models.m.inptu"),
    ({"models": {"m": 3}}, "pricing.models.m"),
    ({"deployments": {"d": {"m": {"output": True}}}}, "pricing.deployments.d.m.output"),
    ({"deployments": []}, "pricing.deployments"),
    ({"models": {"m": {"input": 1}}}, "pricing.models.m.output"),
])
def test_bad_prices_name_the_field(raw, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        PriceBook.from_config(raw)


def test_shipped_config_prices_every_model_it_names():
    raw = yaml.safe_load(DEFAULT_PATH.read_text())
    book = PriceBook.from_config(raw["pricing"], configured(raw), VendorPrices())
    assert book.unpriced() == []
    for model in ("MiniMax-M2.5", "gpt-4o-mini", "gpt-4o", "claude-sonnet", "text-embedding-3-small"):
        assert book.cost_micros(model, "", usage(10**6, 0)) > 0
    assert book.cost_micros("fake-echo", "fake", usage(10**6, 10**6)) == 0 and book.price("fake-echo", "fake").known
