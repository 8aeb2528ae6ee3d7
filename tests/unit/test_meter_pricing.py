"""Cost math for every pricing shape, exact in integer micro-dollars, and config errors that name the field."""
from __future__ import annotations

import pytest
import yaml

from services.common.config_file import DEFAULT_PATH
from services.common.env import ConfigError
from services.common.pricing import PriceBook
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


def usage(prompt: int, completion: int, cached: int = 0) -> common_pb2.Usage:
    return common_pb2.Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                            cached_tokens=cached)


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


def test_unpriced_models_cost_nothing():
    assert BOOK.cost_micros("llama3.2", "vllm", usage(123456, 654321)) == 0


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
    assert BOOK.worst_case_micros("gpt-4o", 1000, 1000) == 2750 + 11000


@pytest.mark.parametrize("raw, field", [
    ({"models": {"m": {"input": "abc"}}}, "pricing.models.m.input"),
    ({"models": {"m": {"input": -1}}}, "pricing.models.m.input"),
    ({"models": {"m": {"input": 0.0000001}}}, "pricing.models.m.input"),
    ({"models": {"m": {"inptu": 1}}}, "pricing.models.m.inptu"),
    ({"models": {"m": 3}}, "pricing.models.m"),
    ({"deployments": {"d": {"m": {"output": True}}}}, "pricing.deployments.d.m.output"),
    ({"deployments": []}, "pricing.deployments"),
])
def test_bad_prices_name_the_field(raw, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        PriceBook.from_config(raw)


def test_shipped_config_parses_and_prices_the_tier_models():
    raw = yaml.safe_load(DEFAULT_PATH.read_text())
    book = PriceBook.from_config(raw["pricing"])
    for model in ("MiniMax-M2.5", "gpt-4o-mini", "gpt-4o"):
        assert book.cost_micros(model, "", usage(10**6, 0)) > 0
