"""Routing policy parsing, error classification, backoff bounds and the hedge budget."""
from __future__ import annotations

import random

import pytest

from services.common.env import ConfigError
from services.router.backoff import HedgeBudget, full_jitter, retry_delay
from services.router.errors import (AUTH, CONTENT_POLICY, CONTEXT_LENGTH, FATAL, RATE_LIMITED, RETRY, classify,
                                    to_gateway_error)
from services.router.policy import RetryPolicy, parse_routing
from services.router.providers.base import UpstreamError


def test_defaults_match_the_issue():
    p = parse_routing(None)
    assert (p.retry.attempts, p.retry.base, p.retry.cap) == (3, 0.1, 5.0)
    b = p.breaker
    assert (b.consecutive, b.ratio, b.min_calls, b.window, b.cooldown) == (5, 0.5, 20, 60, 30)
    assert p.hedge_budget == 0.1
    assert p.provider_chains["anthropic"] == ("anthropic", "openai", "minimax")


def test_groups_aliases_and_hedge_parse():
    p = parse_routing({"groups": {"gpt-4o": {"strategy": "weighted", "aliases": ["g4"], "fallbacks": ["x"],
                                             "hedge": {"delay": "p95", "max": 2}}}})
    g = p.group("gpt-4o")
    assert g.strategy == "weighted" and g.fallbacks == ("x",) and g.hedge.p95 and g.hedge.max == 2
    assert p.aliases() == {"g4": "gpt-4o"} and p.group("other").strategy == "p2c"


@pytest.mark.parametrize("raw,field", [
    ({"retry": {"atempts": 2}}, "routing.retry.atempts"),
    ({"breaker": {"cooldown": -1}}, "routing.breaker.cooldown"),
    ({"groups": {"m": {"strategy": "random"}}}, "routing.groups.m.strategy"),
    ({"groups": {"m": {"fallbacks": "x"}}}, "routing.groups.m.fallbacks"),
    ({"provider_chains": {"openai": [1]}}, "routing.provider_chains.openai"),
])
def test_errors_name_the_field(raw, field):
    with pytest.raises(ConfigError) as exc:
        parse_routing(raw)
    assert field in str(exc.value)


@pytest.mark.parametrize("status,message,expected", [
    (0, "connection refused", RETRY), (429, "slow down", RATE_LIMITED), (500, "", RETRY), (502, "", RETRY),
    (503, "", RETRY), (504, "", RETRY), (400, "bad field", FATAL), (404, "no model", FATAL), (422, "x", FATAL),
    (401, "bad key", AUTH), (403, "forbidden", AUTH),
    (400, "This model's maximum context length is 8192 tokens", CONTEXT_LENGTH),
    (400, "prompt is too long: 210000 tokens > 200000 maximum", CONTEXT_LENGTH),
    (400, "Your request was rejected as a result of our safety system", CONTENT_POLICY),
])
def test_error_classification(status, message, expected):
    assert classify(UpstreamError(status, message)) == expected


def test_a_final_429_tells_the_client_when_to_retry():
    err = to_gateway_error(UpstreamError(429, "x", retry_after=7.0))
    assert err.http_status == 429 and err.retry_after == 7.0


def test_full_jitter_stays_within_its_bounds_and_spreads():
    policy, rng = RetryPolicy(base=0.1, cap=0.5), random.Random(1)
    for retry in range(6):
        samples = [full_jitter(retry, policy, rng) for _ in range(300)]
        bound = min(0.5, 0.1 * 2 ** retry)
        assert all(0 <= s <= bound for s in samples)
        assert max(samples) > bound * 0.9 and min(samples) < bound * 0.1


def test_retry_after_is_a_floor_and_the_deadline_a_ceiling():
    policy, rng = RetryPolicy(), random.Random(2)
    assert retry_delay(0, policy, rng, retry_after=2.0, remaining=10) >= 2.0
    assert retry_delay(0, policy, rng, retry_after=20.0, remaining=10) is None


def test_hedge_budget_allows_at_most_its_share():
    budget, hedges = HedgeBudget(0.1), 0
    for _ in range(1000):
        budget.earn()
        hedges += budget.try_spend()
    assert hedges <= 1 + 100
    assert HedgeBudget(0.0).try_spend() is False
