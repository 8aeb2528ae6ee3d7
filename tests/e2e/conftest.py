"""The whole mesh as separate processes (Redis, meter, router, edge), shared by the e2e tests.

Besides the built-in fake provider (`fake-*`), the mesh has an OpenAI-compatible deployment that
forwards `up-*` models to a fake upstream server run by the test, so tests see what the upstream saw.
"""
from __future__ import annotations

import secrets
import subprocess
import sys
import time

import httpx
import pytest

from services.common.redis_server import free_port
from services.launcher.mesh import ROOT, Mesh, wait_for_port
from tests.fakes.anthropic_upstream import ThreadedAnthropicUpstream
from tests.fakes.openai_upstream import ThreadedUpstream

MASTER_KEY = "ty-test-" + secrets.token_hex(16)


def config_with_fake_family(path) -> str:
    """The shipped config, but with the whole `fake-*` family (the shipped one names each fake model), for
    tests that use fake models the shipped list leaves out (`fake-slow-80`, `fake-error-400`)."""
    text = (ROOT / "config" / "tokenyard.yaml").read_text()
    path.write_text(text.replace("models: [fake-echo, fake-slow,", 'models: ["fake-*", fake-echo, fake-slow,', 1))
    return str(path)


@pytest.fixture(scope="session")
def upstream():
    runner = ThreadedUpstream()
    server = runner.start()
    yield server
    runner.stop()


@pytest.fixture(scope="session")
def anthropic_upstream():
    runner = ThreadedAnthropicUpstream()
    server = runner.start()
    yield server
    runner.stop()


@pytest.fixture(scope="session")
def mesh(tmp_path_factory, upstream, anthropic_upstream, redis_server):
    cfg = tmp_path_factory.mktemp("cfg") / "tokenyard.yaml"
    cfg.write_text(f"""
deployments:
  - name: fake
    provider: fake
    models: [fake-echo, fake-tool-call, "fake-*"]
  - name: upstream-a
    provider: openai
    base_url: {upstream.base_url}
    api_key: sk-upstream-secret-aaaa
    timeouts: {{connect: 2, first_token: 10, total: 60}}
    models: ["up-*"]
  # Failure-injecting models get deployments of their own, so the breakers they trip
  # (correctly) do not close the healthy deployment other tests use.
  - name: upstream-e500
    provider: openai
    base_url: {upstream.base_url}
    api_key: sk-upstream-secret-aaaa
    models: ["up-error-500*"]
  - name: upstream-e429
    provider: openai
    base_url: {upstream.base_url}
    api_key: sk-upstream-secret-aaaa
    models: ["up-error-429*"]
  - name: upstream-cut
    provider: openai
    base_url: {upstream.base_url}
    api_key: sk-upstream-secret-aaaa
    models: ["up-cut-*"]
  # A fake Anthropic API: `/v1/messages` to it travels natively (passthrough), the rest translated.
  - name: anthropic-fake
    provider: anthropic
    base_url: {anthropic_upstream.base_url}
    api_key: sk-ant-test
    models: ["claude-*"]
  # A hedge always races: the first deployment (priority) takes 3 s to its first token, the second answers.
  - name: hedge-slow
    provider: fake
    models: [{{name: hedge-demo, upstream: fake-slow-3000}}]
  - name: hedge-fast
    provider: fake
    models: [{{name: hedge-demo, upstream: fake-echo}}]
routing:
  hedge_budget: 1.0
  groups:
    hedge-demo: {{strategy: priority, hedge: {{delay: 0.2, max: 1}}}}
    # The explorer's fallback case (tests/e2e/test_requests_api_e2e.py): every attempt fails, then fake-echo answers.
    fake-error-503:
      fallbacks: [fake-echo]
# The fake remote agents and BYOK servers of these tests listen on loopback (the mesh's ports stay refused).
outbound:
  allow: ["127.0.0.0/8"]
pricing:
  deployments:
    fake:
      "*": {{input: 0, output: 0}}
      fake-slow-20: {{input: 100, output: 1000}}
tiers:
  economy:  {{model: fake-echo, monthly_tokens: 2000000, price_usd: 5, overage_policy: log}}
  premium:  {{model: fake-tool-call, monthly_tokens: 60, price_usd: 20, overage_policy: block}}
""")
    logs = tmp_path_factory.mktemp("logs")
    m = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER_KEY, "TOKENYARD_CONFIG": str(cfg), "REDIS_URL": redis_server.url,
                  # A fresh request log per run: the explorer tests list what this run sent, nothing older.
                  "TOKENYARD_REQUEST_LOG_PATH": str(tmp_path_factory.mktemp("request-log") / "requests.db"),
                  "TOKENYARD_USAGE_SPOOL": str(tmp_path_factory.mktemp("journal"))}, log_dir=logs)
    m.start()
    yield m
    m.stop()


@pytest.fixture(scope="session")
def base_url(mesh) -> str:
    return f"http://127.0.0.1:{mesh.http_port}/v1"


@pytest.fixture
def client(base_url):
    from openai import OpenAI

    with OpenAI(base_url=base_url, api_key=MASTER_KEY, max_retries=0, timeout=30) as c:
        yield c


def usage_record(mesh, request_id: str, timeout: float = 10.0) -> dict:
    """The request log's record of one request, by the server's id or the client's x-request-id (the
    explorer's `client_request_id` filter), with the mesh's master key; polled until the router's
    background report and the meter's batched write have landed."""
    key = mesh.env["TOKENYARD_MASTER_KEY"]
    base = f"http://127.0.0.1:{mesh.http_port}/api/v1/requests"
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = httpx.get(f"{base}/{request_id}", headers=headers, timeout=10)
        if resp.status_code == 200:
            return resp.json()
        assert resp.status_code == 404, resp.text
        found = httpx.get(base, params={"client_request_id": request_id}, headers=headers, timeout=10).json()["data"]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no request log record for {request_id} within {timeout}s")


@pytest.fixture(scope="session")
def second_edge(mesh):
    """Another edge replica on the same router, meter and Redis."""
    port = free_port()
    env = {**mesh.service_env(), "TOKENYARD_HTTP_PORT": str(port)}
    with open(mesh.log_dir / "edge-2.log", "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.edge"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    wait_for_port(port, proc)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
