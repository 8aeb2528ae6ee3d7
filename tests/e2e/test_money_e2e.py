"""Issue 14 as a hostile tenant tries it: the meter cannot be walked around with a replayed request id,
an agent name, a dense prompt or a hedge. Each test drives the whole mesh through HTTP as a client would."""
from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.e2e.test_edge_e2e import ADMIN, _root, create_key

pytestmark = pytest.mark.e2e

# fake-slow-20 is priced $100/1M in and $1000/1M out in the e2e mesh: tokens cost real money.
PRICED = "fake-slow-20"
PROMPTS = {
    "plain": " ".join(["budget"] * 60),
    "cjk": "数据库连接池配置说明" * 30,
    "emoji": "🎉🚀🔥💡🧪" * 40,
}


def usage(root: str, **filters) -> dict:
    resp = httpx.get(root + "/api/v1/usage", headers=ADMIN, params={"period": "day", **filters}, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["totals"]


def wait_usage(root: str, requests: int, timeout: float = 15.0, **filters) -> dict:
    """The usage totals once `requests` requests are recorded (the router reports in the background)."""
    deadline = time.monotonic() + timeout
    totals = usage(root, **filters)
    while totals["requests"] < requests and time.monotonic() < deadline:
        time.sleep(0.1)
        totals = usage(root, **filters)
    return totals


def post(root: str, key: str, body: dict, path: str = "/v1/chat/completions", **headers) -> httpx.Response:
    return httpx.post(root + path, json=body, timeout=30, headers={"Authorization": f"Bearer {key}", **headers})


# --- 1. request identity is the server's -----------------------------------------------------------

def test_a_replayed_request_id_is_metered_every_time_and_the_budget_binds(base_url):
    root = _root(base_url)
    record = create_key(base_url, workspace="ws-replay", budget_usd=0.02)
    body = {"model": PRICED, "max_tokens": 5, "messages": [{"role": "user", "content": "a b c d e f g h i j"}]}
    answers = [post(root, record["key"], body, **{"x-request-id": "replayed-id"}) for _ in range(8)]
    served = [r for r in answers if r.status_code == 200]
    assert 1 <= len(served) < 8, [r.status_code for r in answers]
    assert {r.status_code for r in answers if r.status_code != 200} == {429}
    assert answers[-1].json()["error"]["code"] == "budget_exceeded"
    # The client's id is echoed; the server's own id differs per request.
    assert all(r.headers["x-request-id"] == "replayed-id" for r in answers)
    server_ids = {r.headers["x-tokenyard-request-id"] for r in answers}
    assert len(server_ids) == 8 and "replayed-id" not in server_ids
    totals = wait_usage(root, len(served), key_id=record["key_id"])
    assert totals["requests"] == len(served)
    one = served[0].json()["usage"]
    assert totals["total_tokens"] == len(served) * one["total_tokens"]


def test_two_tenants_sending_the_same_request_id_are_both_metered(base_url):
    root = _root(base_url)
    a, b = create_key(base_url, workspace="ws-collide-a"), create_key(base_url, workspace="ws-collide-b")
    body = {"model": "fake-echo", "messages": [{"role": "user", "content": "same id here"}]}
    for k in (a, b):
        assert post(root, k["key"], body, **{"x-request-id": "shared-client-id"}).status_code == 200
    for k in (a, b):
        assert wait_usage(root, 1, key_id=k["key_id"])["requests"] == 1


# --- 2. one admission path ------------------------------------------------------------------------

def _agent(root: str, **fields) -> None:
    resp = httpx.post(root + "/api/v1/agents", headers=ADMIN, json=fields, timeout=30)
    assert resp.status_code == 201, resp.text


def test_a_key_refused_by_its_rate_limit_is_refused_through_its_agents_too(base_url):
    root = _root(base_url)
    _agent(root, id="rl-agent", model="fake-echo", workspace="ws-agent-rl")
    key = create_key(base_url, workspace="ws-agent-rl", rpm=1)["key"]
    msg = [{"role": "user", "content": "hi"}]
    assert post(root, key, {"model": "fake-echo", "messages": msg}).status_code == 200
    assert post(root, key, {"model": "fake-echo", "messages": msg}).status_code == 429
    via_model = post(root, key, {"model": "agent/rl-agent", "messages": msg})
    assert via_model.status_code == 429, via_model.text
    assert via_model.json()["error"]["code"] == "rate_limit_exceeded"
    via_chat = post(root, key, {"message": "hi"}, path="/api/v1/agents/rl-agent/chat")
    assert via_chat.status_code == 429, via_chat.text


def test_a_key_budget_binds_through_an_agent_and_its_fallback(base_url):
    root = _root(base_url)
    # The primary fails before its first token; the fallback answers on the priced model.
    _agent(root, id="spend-backup", model=PRICED, workspace="ws-agent-budget")
    _agent(root, id="spend-agent", model="fake-error-500", workspace="ws-agent-budget",
           fallbackAgents=["spend-backup"])
    record = create_key(base_url, workspace="ws-agent-budget", budget_usd=0.03)
    body = {"model": "agent/spend-agent", "max_tokens": 5,
            "messages": [{"role": "user", "content": "a b c d e f g h i j"}]}
    statuses, costs = [], []
    for i in range(12):
        path_body = body if i % 2 else {"message": "a b c d e f g h i j", "max_tokens": 5}
        path = "/v1/chat/completions" if i % 2 else "/api/v1/agents/spend-agent/chat"
        resp = post(root, record["key"], path_body, path=path)
        statuses.append(resp.status_code)
        if resp.status_code == 200:
            costs.append(resp.json()["usage"]["total_tokens"])
    assert 200 in statuses and 429 in statuses, statuses
    assert statuses.index(429) > 0 and all(s == 429 for s in statuses[statuses.index(429):])
    totals = wait_usage(root, statuses.count(200), key_id=record["key_id"])
    assert totals["requests"] == statuses.count(200)
    assert 0 < totals["cost_micros"] <= 30_000 + max(costs) * 1000


def test_an_agent_budget_binds_even_for_the_master_key(base_url, client):
    root = _root(base_url)
    _agent(root, id="budgeted-agent", model=PRICED, workspace="ws-agent-own")
    resp = httpx.put(root + "/api/v1/budgets/agent/budgeted-agent", headers=ADMIN, timeout=30,
                     json={"workspace": "ws-agent-own", "period": "day", "budget_usd": 0})
    assert resp.status_code == 200, resp.text
    refused = post(root, ADMIN["Authorization"][7:], {"model": "agent/budgeted-agent",
                                                      "messages": [{"role": "user", "content": "x"}]})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded", refused.text


# --- 3. reservations from real token counts --------------------------------------------------------

def _overspend(base_url: str, second_edge: str, kind: str) -> tuple[int, int, int]:
    """(budget, spent, one request's cost) in micro-dollars after 50 concurrent requests on two edges."""
    root = _root(base_url)
    body = {"model": PRICED, "max_tokens": 3, "messages": [{"role": "user", "content": PROMPTS[kind]}]}
    probe = create_key(base_url, workspace=f"ws-dense-probe-{kind}")
    assert post(root, probe["key"], body).status_code == 200
    one = wait_usage(root, 1, key_id=probe["key_id"])["cost_micros"]
    budget = 10 * one
    record = create_key(base_url, workspace=f"ws-dense-{kind}", budget_usd=budget / 1e6)

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as c:
            return await asyncio.gather(*(
                c.post((root, second_edge)[i % 2] + "/v1/chat/completions", json=body,
                       headers={"Authorization": f"Bearer {record['key']}"}) for i in range(50)))

    answers = asyncio.run(fire())
    served = sum(r.status_code == 200 for r in answers)
    assert {r.status_code for r in answers} <= {200, 429}
    spent = wait_usage(root, served, key_id=record["key_id"])["cost_micros"]
    print(f"overspend {kind}: budget {budget} spent {spent} ({100 * spent / budget:.0f}%), "
          f"one request {one}, served {served}/50")
    return budget, spent, one


@pytest.mark.parametrize("kind", sorted(PROMPTS))
def test_fifty_concurrent_dense_prompts_on_two_edges_spend_at_most_the_budget_plus_one_request(
        base_url, second_edge, kind):
    budget, spent, one = _overspend(base_url, second_edge, kind)
    assert spent <= budget + one


# --- 4. budget 0 and null --------------------------------------------------------------------------

def test_a_key_budget_of_zero_spends_nothing_and_null_is_unlimited(base_url):
    root = _root(base_url)
    zero = create_key(base_url, workspace="ws-zero", budget_usd=0)
    assert zero["budget_micros"] == 0
    body = {"model": "fake-echo", "messages": [{"role": "user", "content": "free?"}]}
    refused = post(root, zero["key"], body)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded"
    patched = httpx.patch(root + f"/api/v1/keys/{zero['key_id']}", headers=ADMIN, json={"budget_usd": None})
    assert patched.status_code == 200 and patched.json()["budget_micros"] is None
    time.sleep(0.6)  # the edge caches key records for 0.5 s
    assert post(root, zero["key"], body).status_code == 200
    unlimited = create_key(base_url, workspace="ws-zero")
    assert unlimited["budget_micros"] is None and post(root, unlimited["key"], body).status_code == 200
    bad = httpx.post(root + "/api/v1/keys", headers=ADMIN, json={"workspace": "ws-zero", "budget_usd": -1})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "budget_usd"


def test_the_budgets_api_sets_zero_and_removes_with_null(base_url):
    root = _root(base_url)
    key = create_key(base_url, workspace="ws-budgets-api")["key"]
    body = {"model": "fake-echo", "messages": [{"role": "user", "content": "hello"}]}
    url = root + "/api/v1/budgets/workspace/ws-budgets-api"
    put = httpx.put(url, headers=ADMIN, json={"workspace": "ws-budgets-api", "period": "month", "budget_usd": 0})
    assert put.status_code == 200 and put.json()["budget_micros"] == 0, put.text
    listed = httpx.get(root + "/api/v1/budgets", headers=ADMIN, params={"workspace": "ws-budgets-api"}).json()
    assert [(b["kind"], b["id"], b["budget_micros"]) for b in listed["data"]] == [("workspace", "ws-budgets-api", 0)]
    assert post(root, key, body).status_code == 429
    removed = httpx.put(url, headers=ADMIN, json={"workspace": "ws-budgets-api", "period": "month",
                                                  "budget_usd": None})
    assert removed.status_code == 200 and removed.json()["budget_micros"] is None
    assert post(root, key, body).status_code == 200
    bad = httpx.put(url, headers=ADMIN, json={"workspace": "ws-budgets-api", "period": "year", "budget_usd": 1})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "period"


# --- 7. hedges --------------------------------------------------------------------------------------

def test_a_hedged_request_is_one_request_with_its_hedge_as_detail(base_url):
    root = _root(base_url)
    record = create_key(base_url, workspace="ws-hedge")
    resp = post(root, record["key"], {"model": "hedge-demo", "messages": [{"role": "user", "content": "race me"}]})
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-tokenyard-hedges"] == "1"
    deadline = time.monotonic() + 15
    totals = usage(root, key_id=record["key_id"])
    while totals["prompt_tokens"] < 2 * resp.json()["usage"]["prompt_tokens"] and time.monotonic() < deadline:
        time.sleep(0.1)
        totals = usage(root, key_id=record["key_id"])
    assert (totals["requests"], totals["errors"], totals["hedges"], totals["attempts"]) == (1, 0, 1, 2)
    # The loser read the prompt: its tokens stay billed.
    assert totals["prompt_tokens"] == 2 * resp.json()["usage"]["prompt_tokens"]


def test_embeddings_pass_the_same_budget_admission(base_url):
    root = _root(base_url)
    zero = create_key(base_url, workspace="ws-embed-zero", budget_usd=0)
    refused = post(root, zero["key"], {"model": "fake-embed", "input": "hello"}, path="/v1/embeddings")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded", refused.text
    open_key = create_key(base_url, workspace="ws-embed-zero")
    served = post(root, open_key["key"], {"model": "fake-embed", "input": "hello"}, path="/v1/embeddings")
    assert served.status_code == 200 and served.headers["x-tokenyard-request-id"].startswith("req_")


def test_an_agents_system_prompt_is_part_of_what_is_reserved(base_url):
    root = _root(base_url)
    # ~900 prompt tokens at $100/1M: about $0.09 before a single word of the client's, more than the budget.
    _agent(root, id="verbose-agent", model=PRICED, workspace="ws-agent-prompt", systemPrompt="数据库连接" * 450)
    record = create_key(base_url, workspace="ws-agent-prompt", budget_usd=0.05)
    resp = post(root, record["key"], {"model": "agent/verbose-agent", "max_tokens": 1,
                                      "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 429 and resp.json()["error"]["code"] == "budget_exceeded", resp.text
