"""Tier escalation through the whole mesh (edge, router, meter, Redis as processes), with the default
`tiers_escalation` (fast: fake-fast echoes; medium and up: fake-json-* also answer JSON when asked)."""
from __future__ import annotations

import httpx
import orjson

from tests.e2e.conftest import MASTER_KEY

ADMIN = {"Authorization": f"Bearer {MASTER_KEY}"}
SCHEMA = {"type": "json_schema", "json_schema": {"name": "place", "schema": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def _root(base_url: str) -> str:
    return base_url.removesuffix("/v1")


def test_task_api_answers_with_status_score_and_cost(base_url):
    resp = httpx.post(base_url + "/completion", headers=ADMIN, timeout=30, json={
        "caller": "e2e-app", "task_type": "summarize", "input": "The quick brown fox jumps over the lazy dog again.",
        "language": "en"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) >= {"id", "status", "confidence", "model", "task_type", "latency_ms", "tokens", "output"}
    assert body["status"] == "approved" and body["confidence"] == 10.0 and body["model"] == "fake-fast"
    assert body["task_type"] == "default" and body["tier"] == "fast"  # unknown task types use `default`
    assert body["tokens"]["in"] > 0 and body["tokens"]["out"] > 0 and body["latency_ms"] >= 0
    assert body["output"] == "The quick brown fox jumps over the lazy dog again."
    assert {v["name"] for v in body["verdicts"]} >= {"non_empty", "finish_reason", "no_refusal", "language"}
    assert body["id"] == resp.headers["x-request-id"]


def test_json_task_escalates_past_the_echoing_tier(base_url):
    resp = httpx.post(base_url + "/completion", headers=ADMIN, timeout=30, json={
        "caller": "e2e-app", "input": "Where is the Louvre?", "response_format": SCHEMA})
    body = resp.json()
    assert [a["tier"] for a in body["attempts"]] == ["fast", "medium"], body
    assert not next(v for v in body["attempts"][0]["verdicts"] if v["name"] == "json")["passed"]
    assert body["tier"] == "medium" and orjson.loads(body["output"]) == {"city": "Where is the Louvre?"}


def test_classify_and_tier_auto_chat(base_url, client):
    resp = httpx.post(base_url + "/classify", headers=ADMIN, timeout=30, json={
        "caller": "mail", "input": "Totally spam, buy now", "labels": ["ham", "spam"]})
    assert resp.status_code == 200 and resp.json()["label"] == "spam", resp.text
    raw = client.chat.completions.with_raw_response.create(
        model="tier/auto", messages=[{"role": "user", "content": "Where is the Louvre?"}], response_format=SCHEMA)
    answer = raw.parse()
    assert orjson.loads(answer.choices[0].message.content) == {"city": "Where is the Louvre?"}
    assert raw.headers["x-tokenyard-status"] == "approved" and raw.headers["x-tokenyard-tiers-tried"] == "fast,medium"
    # Streaming tier/auto is buffered until the gate decides: the whole answer arrives as one chunk.
    chunks = list(client.chat.completions.create(
        model="tier/auto", messages=[{"role": "user", "content": "hello there"}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "hello there"


def test_refusal_is_queued_for_review_then_resolved_once_and_audited(base_url):
    root = _root(base_url)
    body = httpx.post(base_url + "/completion", headers=ADMIN, timeout=30, json={
        "caller": "e2e-review", "input": "I'm sorry, but I can't help with that."}).json()
    assert body["status"] == "pending_review" and body["confidence"] < 4 and body["review_id"]
    assert len(body["attempts"]) == 4  # every tier refused: the client still gets the best answer
    queue = httpx.get(root + "/api/v1/reviews", headers=ADMIN).json()
    assert body["review_id"] in [r["id"] for r in queue["data"]] and queue["pending"] >= 1
    url = f"{root}/api/v1/reviews/{body['review_id']}"
    done = httpx.post(url, headers=ADMIN, json={"action": "reject", "reviewer": "ana"})
    assert done.status_code == 200 and done.json()["state"] == "rejected"
    again = httpx.post(url, headers=ADMIN, json={"action": "approve"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "review_resolved"
    audit = httpx.get(root + "/api/v1/escalation/audit", headers=ADMIN, params={"caller": "e2e-review"}).json()
    assert [e["kind"] for e in audit["data"]] == ["review", "gate"]
    ran = httpx.post(root + "/api/v1/escalation/learning", headers=ADMIN, json={"cycle": "thresholds"})
    assert ran.status_code == 200 and ran.json()["cycles"] == ["thresholds"]
    metrics = httpx.get(root + "/api/v1/escalation/metrics", headers=ADMIN).json()
    assert metrics["requests"] >= 1 and any(t["tier"] == "fast" for t in metrics["tiers"])


def test_reviews_need_the_master_key_and_bad_input_is_a_400(base_url):
    root = _root(base_url)
    key = httpx.post(root + "/api/v1/keys", headers=ADMIN, json={"workspace": "ws-esc"}).json()["key"]
    user = {"Authorization": f"Bearer {key}"}
    assert httpx.get(root + "/api/v1/reviews", headers=user).status_code == 403
    # A virtual key may use the task API (admitted by the meter as `tier/auto`).
    ok = httpx.post(base_url + "/completion", headers=user, timeout=30, json={"caller": "k", "input": "hi there"})
    assert ok.status_code == 200 and ok.json()["status"] == "approved", ok.text
    bad = httpx.post(base_url + "/classify", headers=ADMIN, json={"caller": "x", "input": "a", "labels": ["one"]})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "labels"
    tier = httpx.post(base_url + "/completion", headers=ADMIN, json={"caller": "x", "input": "a", "max_tier": "nope"})
    assert tier.status_code == 400 and tier.json()["error"]["param"] == "max_tier"
    assert httpx.get(root + "/api/v1/escalation/audit?limit=x", headers=ADMIN).status_code == 400
