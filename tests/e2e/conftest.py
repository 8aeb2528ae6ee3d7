"""The whole mesh as separate processes (Redis, meter, router, edge), shared by the e2e tests.

Besides the built-in fake provider (`fake-*`), the mesh has an OpenAI-compatible deployment that
forwards `up-*` models to a fake upstream server run by the test, so tests see what the upstream saw.
"""
from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time

import pytest
import redis.asyncio as aioredis

from services.meter import keys
from services.meter.periods import day_of
from services.common.redis_server import free_port
from services.launcher.mesh import ROOT, Mesh, wait_for_port
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
def mesh(tmp_path_factory, upstream, redis_server):
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


def usage_record(redis_url: str, request_id: str, timeout: float = 10.0) -> dict[str, str]:
    """The meter's record of one request, found by the server's id or the client's x-request-id (a
    record is keyed by key id and server id, so this scans today's records), polled until the router's
    background report lands."""

    async def find(client) -> dict[str, str] | None:
        pattern = keys.record_key(day_of(int(time.time() * 1000)), "*", "*")
        async for k in client.scan_iter(match=pattern, count=1000):
            raw = {f.decode(): v.decode() for f, v in (await client.hgetall(k)).items()}
            if request_id in (raw.get("request_id"), raw.get("client_request_id")) and not raw.get("attempt_of"):
                return raw
        return None

    async def poll() -> dict[str, str]:
        client = aioredis.Redis.from_url(redis_url)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                record = await find(client)
                if record:
                    return record
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        raise AssertionError(f"no usage record for {request_id} within {timeout}s")

    return asyncio.run(poll())


@pytest.fixture(scope="session")
def second_edge(mesh):
    """Another edge replica on the same router, meter and Redis."""
    port = free_port()
    env = {**mesh.service_env(), "TOKENYARD_HTTP_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "services.edge"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
