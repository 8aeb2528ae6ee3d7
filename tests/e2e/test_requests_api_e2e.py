"""The request explorer API on the live mesh (contract: REQUESTS_API.md): what the SDK sent shows up
with its attempts, filters and pages hold, exports are complete, and a workspace sees only itself."""
from __future__ import annotations

import csv
import io
import json
import uuid

import httpx
import pytest

from tests.e2e.conftest import MASTER_KEY, usage_record

pytestmark = pytest.mark.e2e


def _api(mesh, key: str = MASTER_KEY) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{mesh.http_port}", headers={"Authorization": f"Bearer {key}"},
                        timeout=15)


def _chat(client, model: str, label: str) -> str:
    """One chat with `label` as the client's x-request-id; returns the id the server answered under (the
    response's x-tokenyard-request-id), which is what the request log is keyed by."""
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hello there"}], extra_headers={"x-request-id": label})
    assert raw.parse().choices[0].message.content
    return raw.headers["x-tokenyard-request-id"]


def test_a_fallback_request_shows_every_attempt_and_why(mesh, client):
    label = f"fb-{uuid.uuid4().hex[:10]}"
    rid = _chat(client, "fake-error-503", label)
    record = usage_record(mesh, rid)
    assert record["request_id"] == rid != label and record["client_request_id"] == label
    assert record["model_requested"] == "fake-error-503" and record["model"] == "fake-echo"
    assert record["status"] == "ok" and record["http_status"] == 200
    kinds = [(a["kind"], a["outcome"]) for a in record["attempts"]]
    assert kinds[0] == ("first", "error") and kinds[-1] == ("fallback", "ok"), kinds
    assert all(a["cause"] for a in record["attempts"][:-1])
    assert (record["cost_usd"] is None) == (record["cost_known"] is False)  # null only when the price is unknown
    assert record["started_at"].endswith("Z") and record["latency_ms"] >= 0
    with _api(mesh) as api:
        listed = api.get("/api/v1/requests", params={"has_fallback": "true", "model": "fake-echo"}).json()
        assert rid in [r["request_id"] for r in listed["data"]]
        plain = api.get("/api/v1/requests", params={"has_fallback": "false", "limit": 500}).json()
        assert rid not in [r["request_id"] for r in plain["data"]]


def test_filters_cursor_pages_and_exports_agree(mesh, client):
    tag = uuid.uuid4().hex[:8]
    with _api(mesh) as api:
        key = api.post("/api/v1/keys", json={"workspace": f"ws-{tag}", "name": "pager"}).json()
    from openai import OpenAI

    with OpenAI(base_url=f"http://127.0.0.1:{mesh.http_port}/v1", api_key=key["key"], max_retries=0) as own:
        rids = [_chat(own, "fake-echo", f"pg-{tag}-{i}") for i in range(5)]
        priced = _chat(own, "fake-slow-20", f"pg-{tag}-priced")
    usage_record(mesh, priced)
    for rid in rids:
        usage_record(mesh, rid)
    with _api(mesh) as api:
        seen, cursor = [], None
        while True:
            page = api.get("/api/v1/requests", params={"key_id": key["key_id"], "limit": 2,
                                                       **({"cursor": cursor} if cursor else {})}).json()
            seen += [r["request_id"] for r in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted([*rids, priced]) and len(seen) == len(set(seen))
        times = [r["started_at"] for r in api.get("/api/v1/requests", params={"key_id": key["key_id"]}).json()["data"]]
        assert times == sorted(times, reverse=True)
        costly = api.get("/api/v1/requests", params={"key_id": key["key_id"], "min_cost_usd": "0.000001"}).json()
        assert [r["request_id"] for r in costly["data"]] == [priced]
        assert costly["data"][0]["cost_known"] is True and costly["data"][0]["cost_usd"] != "0.000000"
        csv_rows = list(csv.DictReader(io.StringIO(api.get("/api/v1/requests", params={
            "key_id": key["key_id"], "format": "csv", "limit": 2}).text)))
        assert sorted(r["request_id"] for r in csv_rows) == sorted(seen)  # the export is every match, not one page
        lines = api.get("/api/v1/requests", params={"key_id": key["key_id"], "format": "jsonl"}).text.splitlines()
        assert sorted(json.loads(x)["request_id"] for x in lines) == sorted(seen)
        assert api.get("/api/v1/requests", params={"limit": 0}).json()["error"]["param"] == "limit"
        bad = api.get("/api/v1/requests", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "cursor"
        assert api.get("/api/v1/requests", params={"since": "yesterday"}).status_code == 400


def test_a_virtual_key_sees_only_its_own_workspace(mesh, client):
    tag = uuid.uuid4().hex[:8]
    with _api(mesh) as api:
        a = api.post("/api/v1/keys", json={"workspace": f"a-{tag}"}).json()
        b = api.post("/api/v1/keys", json={"workspace": f"b-{tag}"}).json()
    from openai import OpenAI

    ids = {}
    for name, key in (("a", a), ("b", b)):
        with OpenAI(base_url=f"http://127.0.0.1:{mesh.http_port}/v1", api_key=key["key"], max_retries=0) as c:
            ids[name] = _chat(c, "fake-echo", f"ws-{tag}-{name}")
    rid_a, rid_b = ids["a"], ids["b"]
    usage_record(mesh, rid_a)
    usage_record(mesh, rid_b)
    with _api(mesh, a["key"]) as api:
        mine = [r["request_id"] for r in api.get("/api/v1/requests", params={"limit": 500}).json()["data"]]
        assert rid_a in mine and rid_b not in mine
        assert not api.get("/api/v1/requests", params={"workspace": f"b-{tag}"}).json()["data"]
        hidden = api.get(f"/api/v1/requests/{rid_b}")
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "request_not_found"
        assert api.get(f"/api/v1/requests/{rid_a}").json()["workspace"] == f"a-{tag}"


def test_the_request_log_reports_its_health(mesh):
    with _api(mesh) as api:
        status = api.get("/api/v1/health/request-log").json()
    assert status["backend"] == "sqlite" and status["healthy"] is True and status["retention_days"] == 30


def test_usage_summary_breakdowns_page_through_every_key(mesh, client):
    tag = uuid.uuid4().hex[:8]
    with _api(mesh) as api:
        keys = [api.post("/api/v1/keys", json={"workspace": f"sum-{tag}"}).json() for _ in range(3)]
    from openai import OpenAI

    sent = []
    for i, key in enumerate(keys):
        with OpenAI(base_url=f"http://127.0.0.1:{mesh.http_port}/v1", api_key=key["key"], max_retries=0) as c:
            sent.append(_chat(c, "fake-echo", f"sum-{tag}-{i}"))
    for rid in sent:
        usage_record(mesh, rid)
    with _api(mesh) as api:
        first = api.get("/api/v1/usage/summary", params={"period": "day", "limit": 1}).json()
        assert all(len(first[f"by_{k}"]) <= 1 for k in ("key", "agent", "deployment", "workspace"))
        seen, cursor = [], None
        while True:
            page = api.get("/api/v1/usage/summary", params={"period": "day", "by": "key", "limit": 2,
                                                            **({"cursor": cursor} if cursor else {})}).json()
            assert set(page["next_cursors"]) == {"by_key"}
            seen += [k["id"] for k in page["by_key"]]
            cursor = page["next_cursors"]["by_key"]
            if not cursor:
                break
        assert {k["key_id"] for k in keys} <= set(seen) and len(seen) == len(set(seen))
        assert api.get("/api/v1/usage/summary", params={"cursor": "zzz"}).status_code == 400
        assert api.get("/api/v1/usage/summary", params={"by": "planet"}).status_code == 400
