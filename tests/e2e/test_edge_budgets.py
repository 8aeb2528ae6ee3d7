"""Budgets and tiers as clients meet them at the edge: race-free hard budgets across two edge replicas,
a stream stopped by its budget, tier routing and the block overage policy."""
from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from tests.e2e.test_edge_e2e import _root, create_key

TEN_WORDS = "a b c d e f g h i j"


def test_fifty_concurrent_requests_against_a_budget_for_ten_admit_at_most_ten(base_url, second_edge):
    # fake-slow-20 costs $100/1M in and $1000/1M out: each call reserves ~0.8 cents of prompt and output.
    probe = create_key(base_url, workspace="ws-budget-probe", budget_usd=1.0)
    headers = {"Authorization": f"Bearer {probe['key']}"}
    body = {"model": "fake-slow-20", "max_tokens": 5, "messages": [{"role": "user", "content": TEN_WORDS}]}
    first = httpx.post(_root(base_url) + "/v1/chat/completions", headers=headers, json=body, timeout=30)
    assert first.status_code == 200
    per_call_reserved = 1_000_000 - round(float(first.headers["x-tokenyard-budget-remaining-usd"]) * 1e6)
    assert per_call_reserved > 0

    key = create_key(base_url, workspace="ws-budget", budget_usd=10 * per_call_reserved / 1e6)["key"]
    roots = [_root(base_url), second_edge]

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as c:
            return await asyncio.gather(*(
                c.post(roots[i % 2] + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body)
                for i in range(50)))

    responses = asyncio.run(fire())
    admitted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    # Each call reserves an upper bound and settles to its (smaller) actual cost, giving the difference
    # back; so a few more calls than 10 may fit, but what they cost never exceeds the budget.
    cost = round(float(first.headers["x-tokenyard-cost-usd"]) * 1e6)
    assert 0 < cost <= per_call_reserved
    assert 1 <= len(admitted) and len(admitted) * cost <= 10 * per_call_reserved
    assert all(r.status_code == 429 for r in refused)
    assert {r.json()["error"]["code"] for r in refused} <= {"budget_exceeded", "insufficient_quota"}


def test_stream_that_runs_out_of_budget_ends_with_an_error_event(base_url):
    # No max_tokens: the meter grants what the budget affords (about 19 tokens at $1000/1M, at least the
    # meter's 16-token minimum), and the edge caps the call there; the answer would be 30 words.
    key = create_key(base_url, workspace="ws-budget-stream", budget_usd=0.02)["key"]
    words: list[str] = []
    with openai.OpenAI(base_url=base_url, api_key=key, max_retries=0) as c:
        with pytest.raises(openai.APIError) as exc:
            for chunk in c.chat.completions.create(model="fake-slow-20", stream=True,
                                                   messages=[{"role": "user", "content": " ".join(["w"] * 30)}]):
                words += [chunk.choices[0].delta.content or ""] if chunk.choices else []
    assert not isinstance(exc.value, openai.APIStatusError)  # an SSE error event, not an HTTP refusal
    assert exc.value.body["code"] == "budget_exceeded"
    assert 16 <= len([w for w in words if w.strip()]) < 30


def test_tier_request_gets_the_tiers_model(base_url):
    key = create_key(base_url, workspace="ws-tier", tier="economy")["key"]
    resp = httpx.post(_root(base_url) + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "tier/economy", "messages": [{"role": "user", "content": "tiered hello"}]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["model"] == "fake-echo" and resp.json()["choices"][0]["message"]["content"] == "tiered hello"
    assert resp.headers["x-tokenyard-tier"] == "economy"


def test_block_policy_refuses_past_the_monthly_quota(base_url):
    key = create_key(base_url, workspace="ws-premium", tier="premium")["key"]
    headers = {"Authorization": f"Bearer {key}"}
    body = {"model": "tier/premium", "tools": [{"type": "function", "function": {"name": "f"}}],
            "messages": [{"role": "user", "content": "use the tool please, a long request to spend tokens"}]}
    statuses = []
    for _ in range(6):
        statuses.append(httpx.post(_root(base_url) + "/v1/chat/completions", headers=headers, json=body, timeout=30))
    codes = [r.status_code for r in statuses]
    assert codes[0] == 200 and 429 in codes
    blocked = statuses[codes.index(429)]
    assert blocked.json()["error"]["code"] == "insufficient_quota"
