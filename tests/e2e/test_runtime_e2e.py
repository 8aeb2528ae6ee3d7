"""The runtime in the whole mesh (separate processes): a real agent process using the `openai` SDK,
fallback agents over the real router, sessions, the drive's memory use, and BYOK keys kept secret."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.launcher.mesh import Mesh
from services.runtime.processes import group_exists
from tests.e2e.conftest import usage_record

MASTER = "ty-rt-" + secrets.token_hex(16)
BYOK_SECRET = "sk-byok-e2e-" + secrets.token_hex(20)
SCRIPT = str(Path(__file__).resolve().parents[1] / "fakes" / "agent_process.py")


@pytest.fixture(scope="module")
def rt_mesh(tmp_path_factory, redis_server):
    tmp = tmp_path_factory.mktemp("runtime-mesh")
    cfg = tmp / "tokenyard.yaml"
    cfg.write_text('deployments:\n  - name: fake\n    provider: fake\n    models: [fake-echo, "fake-*"]\n')
    m = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER, "TOKENYARD_CONFIG": str(cfg), "REDIS_URL": redis_server.url,
                  "TOKENYARD_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
                  "DRIVE_MAX_FILE_SIZE": str(24 * 1024 * 1024)},
             data_dir=tmp, log_dir=tmp / "logs")
    m.start()
    yield m
    m.stop()


@pytest.fixture
def api(rt_mesh):
    with httpx.Client(base_url=f"http://127.0.0.1:{rt_mesh.http_port}", timeout=30,
                      headers={"Authorization": f"Bearer {MASTER}"}) as c:
        yield c


def wait_for(fn, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := fn():
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def log_lines(api, agent_id: str) -> list[str]:
    resp = api.get(f"/api/v1/agents/{agent_id}/logs", params={"tail": 50})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    import json
    return [json.loads(line[6:])["line"] for line in resp.text.splitlines() if line.startswith("data: {\"line\"")]


def test_a_real_agent_process_calls_through_the_edge_is_metered_to_it_and_stops_cleanly(api, rt_mesh):
    agent_id = "sdk-agent"
    created = api.post("/api/v1/agents", json={"id": agent_id, "name": "SDK agent", "model": "fake-echo",
                                               "process": {"command": sys.executable,
                                                           "args": [SCRIPT, "openai", "fake-echo"],
                                                           "restart": {"mode": "RESTART_MODE_NEVER"}}})
    assert created.status_code == 201, created.text
    started = api.post(f"/api/v1/agents/{agent_id}/start").json()
    assert started["status"] == "running" and started["pid"] > 0
    assert any(a["agentId"] == agent_id for a in api.get("/api/v1/agents/running").json()["data"])
    lines = wait_for(lambda: [x for x in log_lines(api, agent_id) if x.startswith("answer:")] or None)
    assert lines == ["answer: agent says hi"]
    record = usage_record(rt_mesh, f"agent-call-{agent_id}")
    assert record["agent_id"] == agent_id and record["key_id"].startswith("key_")
    health = api.get(f"/api/v1/agents/{agent_id}/health").json()
    assert health["pid"] == started["pid"] and health["uptimeSeconds"] > 0

    stopped = api.post(f"/api/v1/agents/{agent_id}/stop").json()
    assert stopped["status"] == "stopped" and stopped["lastExitCode"] == 0
    assert not group_exists(started["pid"])  # no orphan, not even a forked helper
    assert api.get("/api/v1/agents/running").json()["data"] == []
    # The agent's key died with it.
    denied = httpx.post(f"http://127.0.0.1:{rt_mesh.http_port}/v1/models",
                        headers={"Authorization": f"Bearer {record['key_id']}"})
    assert denied.status_code in (401, 405)


def test_fallback_agent_answers_when_the_primarys_upstream_fails_and_the_session_records_it(api):
    assert api.post("/api/v1/agents", json={"id": "backup", "model": "fake-echo"}).status_code == 201
    assert api.post("/api/v1/agents", json={"id": "primary", "model": "fake-error-500",
                                            "fallbackAgents": ["backup"]}).status_code == 201
    resp = api.post("/api/v1/agents/primary/chat", json={"message": "hello there"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["choices"][0]["message"]["content"] == "hello there"
    assert body["agent"] == "backup" and resp.headers["x-tokenyard-agent"] == "backup"
    session = api.get(f"/api/v1/sessions/{body['session_id']}").json()
    assert [(m["role"], m["agentId"]) for m in session["messages"]] == [("user", ""), ("assistant", "backup")]

    with api.stream("POST", "/api/v1/agents/primary/chat",
                    json={"message": "streamed words", "stream": True, "session_id": body["session_id"]}) as s:
        text = "".join(s.iter_text())
    assert s.status_code == 200 and "data: [DONE]" in text and '"content":"words"' in text

    assert api.post("/api/v1/agents", json={"id": "lonely", "model": "fake-error-500"}).status_code == 201
    failed = api.post("/api/v1/agents/lonely/chat", json={"message": "hi"})
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "agent_chain_failed"
    assert "lonely:" in failed.json()["error"]["message"]


def test_session_export_import_round_trip_over_http(api):
    api.post("/api/v1/agents", json={"id": "echoer", "model": "fake-echo"})
    sid = api.post("/api/v1/agents/echoer/chat", json={"message": "remember me"}).json()["session_id"]
    original = api.get(f"/api/v1/sessions/{sid}").json()
    exported = api.get(f"/api/v1/sessions/{sid}/export")
    assert exported.status_code == 200
    assert api.post("/api/v1/sessions/import", content=exported.content).status_code == 409
    assert api.delete(f"/api/v1/sessions/{sid}").status_code == 200
    assert api.get(f"/api/v1/sessions/{sid}").status_code == 404
    imported = api.post("/api/v1/sessions/import", content=exported.content)
    assert imported.status_code == 201 and imported.json() == original
    bad = api.post("/api/v1/sessions/import", content=b'{"format": "nope"}')
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_session_export"
    assert api.post("/api/v1/sessions/cleanup", json={"older_than_seconds": 3600}).json() == {"deleted": 0}


def _status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            out[line.split(":")[0]] = int(line.split()[1])
    return out


def test_a_20mb_upload_and_download_stream_without_growing_the_runtime(api, rt_mesh):
    api.post("/api/v1/agents", json={"id": "filer", "model": "fake-echo"})
    pid = rt_mesh.procs["runtime"].pid
    data = os.urandom(20 * 1024 * 1024)
    api.post("/api/v1/agents/filer/files", files={"file": ("warmup.bin", b"x" * 1024)})  # first-use allocations
    before = _status(pid)["VmRSS"]
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    up = api.post("/api/v1/agents/filer/files", files={"file": ("big.bin", data, "application/octet-stream")},
                  timeout=120)
    assert up.status_code == 201, up.text
    assert up.json()["size"] == len(data) and up.json()["sha256"] == hashlib.sha256(data).hexdigest()
    digest, size = hashlib.sha256(), 0
    with api.stream("GET", "/api/v1/agents/filer/files/big.bin", timeout=120) as resp:
        assert resp.status_code == 200 and int(resp.headers["content-length"]) == len(data)
        for chunk in resp.iter_bytes():
            digest.update(chunk)
            size += len(chunk)
    assert size == len(data) and digest.hexdigest() == hashlib.sha256(data).hexdigest()
    peak = _status(pid)["VmHWM"]
    assert peak - before < 8 * 1024, f"runtime peak RSS grew by {(peak - before) / 1024:.1f} MB"
    listed = api.get("/api/v1/agents/filer/files").json()["data"]
    assert {f["name"] for f in listed} == {"warmup.bin", "big.bin"}
    escape = api.post("/api/v1/agents/filer/files", params={"name": "../x"}, files={"file": ("a", b"1")})
    assert escape.status_code == 400 and escape.json()["error"]["code"] == "invalid_file_name"


def test_the_byok_key_appears_in_no_response_and_no_log_line(api, rt_mesh):
    responses = [api.post("/api/v1/agents", json={"id": "byok", "model": "fake-echo",
                                                  "llm": {"provider": "openai", "model": "fake-echo",
                                                          "apiKey": BYOK_SECRET}})]
    responses.append(api.put("/api/v1/agents/byok/llm-config", json={"provider": "fake", "model": "fake-echo",
                                                                     "apiKey": BYOK_SECRET}))
    responses += [api.get("/api/v1/agents/byok/llm-config"), api.get("/api/v1/agents/byok"), api.get("/api/v1/agents"),
                  api.post("/api/v1/agents/byok/llm-test"), api.post("/api/v1/agents/byok/chat", json={"message": "x"})]
    assert responses[2].json()["hasKey"] is True and "apiKey" not in responses[2].json()
    assert all(r.status_code < 500 for r in responses)
    for r in responses:
        assert BYOK_SECRET not in r.text
    removed = api.put("/api/v1/agents/byok/llm-config", json={"provider": "fake", "apiKey": None})
    assert removed.json()["hasKey"] is False
    time.sleep(0.5)  # let the services flush their log lines
    logs = "".join(p.read_text(errors="replace") for p in (rt_mesh.log_dir).glob("*.log"))
    assert "sdk-agent" in logs or "runtime_started" in logs  # the logs are really there
    assert BYOK_SECRET not in logs


def test_an_upload_over_the_limit_is_a_413_and_leaves_no_file(api):
    api.post("/api/v1/agents", json={"id": "limited-filer", "model": "fake-echo"})
    too_big = os.urandom(64 * 1024 * 1024)  # 40 MB past the 24 MB limit: far more than flow control buffers
    resp = api.post("/api/v1/agents/limited-filer/files", files={"file": ("huge.bin", too_big)}, timeout=120)
    assert resp.status_code == 413, resp.text
    assert resp.json()["error"]["code"] == "file_too_large"
    assert api.get("/api/v1/agents/limited-filer/files").json()["data"] == []
