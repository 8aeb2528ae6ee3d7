"""The router killed with SIGKILL: every request a client got an answer (or part of one) for is metered once.

Real processes, own Redis, own journal directory. Two cases from issue 14 item 8:
- killed during 30 streams: the edge records what it relayed of each broken stream;
- killed while the meter is down, after 60 answers: the journal replays them at the next start.
"""
from __future__ import annotations

import asyncio
import secrets
import time

import httpx
import pytest

from services.common.redis_server import LocalRedis
from services.launcher.mesh import Mesh

pytestmark = pytest.mark.e2e
MASTER = "ty-kill-e2e-" + secrets.token_hex(12)
HEADERS = {"Authorization": f"Bearer {MASTER}"}


@pytest.fixture(scope="module")
def own_mesh(tmp_path_factory):
    root = tmp_path_factory.mktemp("router-kill")
    redis = LocalRedis(root / "redis").start()
    cfg = root / "tokenyard.yaml"
    cfg.write_text("""
deployments:
  - name: fake
    provider: fake
    models: ["fake-*"]
pricing:
  deployments:
    fake: {"*": {input: 1, output: 2}}
""")
    mesh = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER, "TOKENYARD_CONFIG": str(cfg), "REDIS_URL": redis.url,
                     "TOKENYARD_USAGE_SPOOL": str(root / "spool")}, log_dir=root / "logs")
    mesh.start()
    yield mesh
    mesh.stop()
    redis.stop()


def _kill(mesh: Mesh, name: str) -> None:
    proc = mesh.procs[name]
    proc.kill()  # SIGKILL: no drain, no shutdown flush
    proc.wait()
    mesh.stop_service(name)


def _requests_metered(mesh: Mesh, timeout: float = 20.0) -> int:
    """The meter's request count (waiting out the edge's reconnect to a meter that just restarted)."""
    deadline = time.monotonic() + timeout
    while True:
        resp = httpx.get(f"http://127.0.0.1:{mesh.http_port}/api/v1/usage?period=day", headers=HEADERS, timeout=10)
        if resp.status_code == 200 or time.monotonic() > deadline:
            assert resp.status_code == 200, resp.text
            return resp.json()["totals"]["requests"]
        time.sleep(0.2)


def _settle(mesh: Mesh, expected: int, timeout: float = 30.0) -> int:
    """Polls the meter's totals until they reach `expected`, then a little longer (to catch doubles)."""
    deadline, seen = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        seen = _requests_metered(mesh)
        if seen >= expected:
            break
        time.sleep(0.2)
    time.sleep(1.5)  # anything that would double-count has had its chance
    return _requests_metered(mesh)


async def _streams_then_kill(mesh: Mesh, n: int) -> int:
    """n streams of a slow model; once every one has its first chunk, SIGKILL the router. Returns how many
    streams a client got an answer (at least its first chunk) for."""
    started = 0
    all_started = asyncio.Event()

    async def one(client: httpx.AsyncClient, i: int) -> bool:
        nonlocal started
        body = {"model": "fake-slow-100", "stream": True,
                "messages": [{"role": "user", "content": " ".join(f"s{i}w{j}" for j in range(60))}]}
        got_first = False
        try:
            async with client.stream("POST", "/v1/chat/completions", json=body) as resp:
                assert resp.status_code == 200
                async for line in resp.aiter_lines():
                    if line.startswith("data: {") and not got_first:
                        got_first, started = True, started + 1
                        if started == n:
                            all_started.set()
        except httpx.HTTPError:
            pass
        return got_first

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{mesh.http_port}", headers=HEADERS,
                                 timeout=60) as client:
        tasks = [asyncio.create_task(one(client, i)) for i in range(n)]
        await asyncio.wait_for(all_started.wait(), 30)
        _kill(mesh, "router")
        answered = sum(await asyncio.gather(*tasks))
    return answered


def test_router_killed_during_30_streams_meters_every_stream_answered(own_mesh):
    before = _requests_metered(own_mesh)
    answered = asyncio.run(_streams_then_kill(own_mesh, 30))
    own_mesh.start_service("router")
    written = _settle(own_mesh, before + answered) - before
    print(f"router killed during 30 streams: answered={answered} records_written={written}")
    assert answered == 30
    assert written == answered


def test_router_killed_while_the_meter_is_down_loses_and_doubles_nothing(own_mesh):
    before = _requests_metered(own_mesh)
    _kill(own_mesh, "meter")

    async def sixty() -> int:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{own_mesh.http_port}", headers=HEADERS,
                                     timeout=30) as client:
            async def one(i: int) -> bool:
                resp = await client.post("/v1/chat/completions", json={
                    "model": "fake-echo", "messages": [{"role": "user", "content": f"down {i}"}]})
                return resp.status_code == 200
            return sum(await asyncio.gather(*(one(i) for i in range(60))))

    answered = asyncio.run(sixty())
    _kill(own_mesh, "router")  # its records are in the journal only: the meter never saw them
    own_mesh.start_service("meter")
    own_mesh.start_service("router")
    written = _settle(own_mesh, before + answered) - before
    print(f"router killed while the meter was down: answered={answered} records_written={written}")
    assert answered == 60
    assert written == 60
