"""The meter killed during a 300-request load: afterwards its totals equal the usage the clients saw.

Also drives the edge's usage endpoints on the same mesh (summary, per agent, tiers, CSV, workspace scope).
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
MASTER = "ty-meter-e2e-" + secrets.token_hex(12)
TOTAL, CONCURRENCY = 300, 12


@pytest.fixture(scope="module")
def own_mesh(tmp_path_factory):
    """A mesh of its own, with its own Redis, so its totals contain only this test's traffic."""
    root = tmp_path_factory.mktemp("meter-e2e")
    redis = LocalRedis(root / "redis").start()
    cfg = root / "tokenyard.yaml"
    cfg.write_text("""
deployments:
  - name: fake
    provider: fake
    models: ["fake-*"]
pricing:
  models:
    fake-echo: {input: 2.50, output: 10.00}
""")
    mesh = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER, "TOKENYARD_CONFIG": str(cfg), "REDIS_URL": redis.url,
                     "TOKENYARD_USAGE_SPOOL": str(root / "spool")}, log_dir=root / "logs")
    mesh.start()
    yield mesh
    mesh.stop()
    redis.stop()


def _kill_meter(mesh: Mesh) -> None:
    proc = mesh.procs["meter"]
    proc.kill()       # SIGKILL: no graceful drain
    proc.wait()
    mesh.stop_service("meter")


async def _load(mesh: Mesh) -> tuple[int, int, int]:
    """300 chat requests; the meter dies after 60 and comes back after 180. Returns what clients saw."""
    base = f"http://127.0.0.1:{mesh.http_port}"
    done, seen_prompt, seen_completion = 0, 0, 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(TOTAL):
        queue.put_nowait(i)
    killed, restarted = asyncio.Event(), asyncio.Event()

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done, seen_prompt, seen_completion
        while not queue.empty():
            i = queue.get_nowait()
            words = " ".join(f"w{i}x{j}" for j in range(1 + i % 7))
            resp = await client.post("/v1/chat/completions", json={
                "model": "fake-echo", "messages": [{"role": "user", "content": words}]},
                headers={"x-request-id": f"dur-{i}"})
            assert resp.status_code == 200, resp.text
            usage = resp.json()["usage"]
            seen_prompt += usage["prompt_tokens"]
            seen_completion += usage["completion_tokens"]
            done += 1

    async def chaos() -> None:
        while done < 60:
            await asyncio.sleep(0.01)
        _kill_meter(mesh)
        killed.set()
        while done < 180:
            await asyncio.sleep(0.01)
        # On this (main) thread: children die with the thread that forked them (PR_SET_PDEATHSIG), so a
        # worker thread must not start the meter. The load pauses while it starts; that is fine here.
        mesh.start_service("meter")
        restarted.set()

    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30) as client:
        await asyncio.gather(chaos(), *(worker(client) for _ in range(CONCURRENCY)))
    assert killed.is_set() and restarted.is_set()
    return done, seen_prompt, seen_completion


def test_meter_killed_during_load_loses_and_doubles_nothing(own_mesh):
    done, prompt, completion = asyncio.run(_load(own_mesh))
    assert done == TOTAL
    headers = {"Authorization": f"Bearer {MASTER}"}
    base = f"http://127.0.0.1:{own_mesh.http_port}"
    deadline, totals = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        resp = httpx.get(f"{base}/api/v1/usage?period=day", headers=headers)
        if resp.status_code == 200:
            totals = resp.json()["totals"]
            if totals["requests"] >= TOTAL:
                break
        time.sleep(0.2)
    assert totals is not None
    assert totals["requests"] == TOTAL
    assert (totals["prompt_tokens"], totals["completion_tokens"]) == (prompt, completion)
    # Priced at $2.50 / $10 per 1M tokens; each request rounds on its own exact sum.
    assert totals["cost_micros"] > 0 and totals["cost_usd"].startswith("0.")


def test_usage_endpoints_summary_agent_tiers_and_csv(own_mesh):
    headers = {"Authorization": f"Bearer {MASTER}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{own_mesh.http_port}", headers=headers, timeout=10) as c:
        s = c.get("/api/v1/usage/summary", params={"period": "month"}).json()
        assert s["object"] == "usage.summary" and s["by_key"][0]["id"] == "master"
        assert s["totals"]["requests"] == sum(d["requests"] for d in s["by_date"])
        agent = c.get("/api/v1/agents/no-such-agent/usage", params={"period": "week"}).json()
        assert agent["filter"] == {"agent_id": "no-such-agent"} and agent["totals"]["requests"] == 0
        tiers = c.get("/api/v1/usage/tiers").json()
        assert [t["name"] for t in tiers["tiers"]] == ["economy", "standard", "premium"]
        assert tiers["tiers"][0]["price_usd"] == "5.000000"
        csv = c.get("/api/v1/usage", params={"period": "day", "format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.strip().splitlines()
        assert lines[0].startswith("date,model,requests") and ",fake-echo," in lines[1]
        bad = c.get("/api/v1/usage/summary", params={"period": "year"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "period"

        key = c.post("/api/v1/keys", json={"workspace": "acme", "name": "acme-key"})
        assert key.status_code == 201, key.text
        mine = {"Authorization": f"Bearer {key.json()['key']}"}
        scoped = c.get("/api/v1/usage/summary", headers=mine).json()
        assert scoped["workspace"] == "acme" and scoped["totals"]["requests"] == 0 and "by_workspace" not in scoped
        other = c.get("/api/v1/usage", params={"workspace": "other"}, headers=mine)
        assert other.status_code == 403 and other.json()["error"]["code"] == "forbidden"
