"""The web console driven in headless chromium: sign in, the overview and explorer show SDK traffic (with its
fallback), keys are created (secret shown once) and revoked, a virtual key stays in its workspace, and an
agent starts and streams its logs. Every page is saved as a screenshot (tests/ui/output/)."""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from openai import OpenAI
from playwright.sync_api import expect

from tests.e2e.conftest import usage_record
from tests.ui.conftest import MASTER

pytestmark = [pytest.mark.ui, pytest.mark.timeout(180)]
DOCS = Path(__file__).resolve().parents[2] / "docs"
AGENT_SCRIPT = str(Path(__file__).resolve().parents[1] / "fakes" / "agent_process.py")


def admin(mesh) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{mesh.http_port}", headers={"Authorization": f"Bearer {MASTER}"},
                        timeout=20)


def sdk(mesh, key: str = MASTER) -> OpenAI:
    return OpenAI(base_url=f"http://127.0.0.1:{mesh.http_port}/v1", api_key=key, max_retries=0, timeout=30)


def chat(client: OpenAI, model: str, label: str) -> str:
    """One chat labelled with the client's x-request-id; returns the server's request id (the response's
    x-tokenyard-request-id), which keys the request log."""
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hello console"}], extra_headers={"x-request-id": label})
    raw.parse()
    return raw.headers["x-tokenyard-request-id"]


def sign_in(page, key: str) -> None:
    page.goto("/ui/")
    page.fill("#signin-key", key)
    page.click("#signin-submit")
    expect(page.locator("#nav")).to_be_visible()


def test_overview_and_explorer_show_sdk_traffic_with_its_fallback(page, ui_mesh, shots):
    tag = uuid.uuid4().hex[:8]
    with sdk(ui_mesh) as c:
        plain = [chat(c, "fake-echo", f"ui-{tag}-{i}") for i in range(3)]
        fell_back = chat(c, "fake-error-503", f"ui-{tag}-fb")
    for rid in [*plain, fell_back]:
        usage_record(ui_mesh, rid)

    sign_in(page, MASTER)
    assert MASTER not in page.url
    assert page.evaluate("sessionStorage.getItem('tokenyard.key')") == MASTER
    expect(page.locator("#chart-requests canvas")).to_be_visible()
    plotted = json.loads(page.get_attribute("#chart-requests", "data-series"))
    assert sum(plotted[0]) >= 4  # today's bar holds the SDK's requests
    assert int(page.inner_text("#stat-requests .v").replace(",", "")) >= 4
    page.wait_for_timeout(200)  # let uPlot paint before the picture
    overview = shots(page, "overview")
    if os.environ.get("TOKENYARD_UI_DOCS_SCREENSHOT") == "1":  # refreshes the README's picture on request only
        shutil.copy(overview, DOCS / "console-overview.png")

    page.click("nav a[data-page=requests]")
    page.select_option("#request-filters select[name=has_fallback]", "true")
    page.click("#request-filters button[type=submit]")
    row = page.locator("#request-list tr", has_text=fell_back)
    expect(row).to_be_visible()
    expect(row.locator(".badge.fallback")).to_be_visible()
    expect(page.locator("#request-list tr", has_text=plain[0])).to_have_count(0)
    shots(page, "requests")
    row.click()
    timeline = page.locator("#attempt-timeline")
    expect(timeline.locator(".step")).to_have_count(3)  # first, retry on the same group, then the fallback
    expect(timeline.locator(".step").first).to_contain_text("first")
    expect(timeline.locator(".step").last).to_contain_text("fallback")
    expect(timeline).to_contain_text("failed over:")
    shots(page, "request-detail")

    page.click("nav a[data-page=upstreams]")
    expect(page.locator("#upstream-table tr", has_text="fake-backup")).to_be_visible()
    shots(page, "upstreams")
    page.click("nav a[data-page=reviews]")
    expect(page.locator("#review-list")).to_be_visible()
    shots(page, "reviews")


def test_a_key_is_created_with_its_secret_shown_once_then_revoked(page, ui_mesh, shots):
    workspace = f"team-{uuid.uuid4().hex[:6]}"
    sign_in(page, MASTER)
    page.click("nav a[data-page=keys]")
    page.fill("#key-create input[name=workspace]", workspace)
    page.fill("#key-create input[name=name]", "console key")
    page.fill("#key-create input[name=rpm]", "60")
    page.click("#key-create button[type=submit]")
    secret = page.inner_text("#secret-value")
    assert secret.startswith("ty-")
    shots(page, "keys-created")
    with sdk(ui_mesh, secret) as c:
        chat(c, "fake-echo", f"key-{workspace}")  # the secret works
    page.click("#secret-dismiss")
    page.reload()
    expect(page.locator("#key-list tr", has_text=workspace)).to_be_visible()
    assert secret not in page.content()  # shown once: never again, not even in the list
    row = page.locator("#key-list tr", has_text=workspace)
    key_id = row.locator(".mono").inner_text()
    shots(page, "keys")
    page.once("dialog", lambda d: d.accept())
    row.locator("button.danger").click()
    expect(page.locator("#key-list tr", has_text=workspace)).to_have_count(0)
    with admin(ui_mesh) as api:
        assert api.get(f"/api/v1/keys/{key_id}").status_code == 404
    # Revocation reaches every edge at its next key-cache refresh (<= 1 s by design): poll for it.
    deadline = time.monotonic() + 5
    while (status := httpx.get(f"http://127.0.0.1:{ui_mesh.http_port}/v1/models",
                               headers={"Authorization": f"Bearer {secret}"}).status_code) != 401:
        assert status == 200 and time.monotonic() < deadline, status
        time.sleep(0.1)


def test_a_virtual_key_cannot_see_another_workspaces_requests(page, ui_mesh, shots):
    tag = uuid.uuid4().hex[:6]
    with admin(ui_mesh) as api:
        mine = api.post("/api/v1/keys", json={"workspace": f"mine-{tag}"}).json()
        theirs = api.post("/api/v1/keys", json={"workspace": f"theirs-{tag}"}).json()
    ids = []
    for key, label in ((mine, f"v-{tag}-mine"), (theirs, f"v-{tag}-theirs")):
        with sdk(ui_mesh, key["key"]) as c:
            ids.append(chat(c, "fake-echo", label))
        usage_record(ui_mesh, ids[-1])
    rid_mine, rid_theirs = ids
    sign_in(page, mine["key"])
    expect(page.locator("#who")).to_contain_text("virtual key")
    page.click("nav a[data-page=requests]")
    expect(page.locator("#request-list tr", has_text=rid_mine)).to_be_visible()
    expect(page.locator("#request-list tr", has_text=rid_theirs)).to_have_count(0)
    page.fill("#request-filters input[name=workspace]", f"theirs-{tag}")
    page.click("#request-filters button[type=submit]")
    expect(page.locator("#request-list")).to_contain_text("No request matches.")
    shots(page, "virtual-requests")
    page.goto(f"/ui/#/requests/{rid_theirs}")
    expect(page.locator(".notice.error")).to_contain_text("No request")
    page.click("nav a[data-page=keys]")
    expect(page.locator("main")).to_contain_text("needs the master key")


def test_an_agent_is_started_and_its_logs_stream(page, ui_mesh, shots):
    agent_id = f"ui-agent-{uuid.uuid4().hex[:6]}"
    with admin(ui_mesh) as api:
        created = api.post("/api/v1/agents", json={
            "id": agent_id, "name": "Console agent", "model": "fake-echo",
            "process": {"command": sys.executable, "args": [AGENT_SCRIPT, "openai", "fake-echo"],
                        "restart": {"mode": "RESTART_MODE_NEVER"}}})
        assert created.status_code == 201, created.text
    sign_in(page, MASTER)
    page.click("nav a[data-page=agents]")
    page.click("text=Console agent")
    expect(page.locator("#llm-form")).to_be_visible()
    page.click("#agent-start")
    expect(page.locator("#agent-status")).to_contain_text("running")
    expect(page.locator("#agent-logs")).to_contain_text("answer: agent says hi", timeout=30_000)
    page.fill("#llm-form input[name=apiKey]", "sk-byok-console-secret")
    page.click("#llm-form button[type=submit]")
    expect(page.locator("main")).to_contain_text("A key is stored.")
    assert page.input_value("#llm-form input[name=apiKey]") == ""  # write-only: never shown back
    shots(page, "agent-detail")
    usage_record(ui_mesh, f"agent-call-{agent_id}")
    page.click("nav a[data-page=agents]")
    expect(page.locator("#agent-health tr", has_text=agent_id).locator(".badge.healthy")).to_have_text("healthy")
    shots(page, "agents")
    page.click("text=Console agent")
    page.click("#agent-stop")
    expect(page.locator("#agent-status")).not_to_contain_text("running")
