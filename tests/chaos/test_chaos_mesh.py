"""Mesh faults under load: the router killed with -9 during 200 streams, Redis restarted, the meter
down, the runtime restarted while agents run. Clients never hang; usage is never lost or counted twice.
Fast variants run in `make test`; the full ones (a 30 s meter outage) with `make test-chaos`.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.chaos.load import Load, audit, day_requests
from tests.chaos.support import auth, edge_url, stream_chat

STREAM_DEADLINE = 20.0


def _kill(mesh, name: str) -> None:
    proc = mesh.procs[name]
    proc.kill()
    proc.wait()
    mesh.stop_service(name)


def _first_success_after(mesh, limit: float = 15.0) -> float:
    """Seconds until a chat request succeeds again."""
    t0 = time.monotonic()
    with httpx.Client(base_url=edge_url(mesh), headers=auth(), timeout=5) as c:
        while time.monotonic() - t0 < limit:
            try:
                resp = c.post("/v1/chat/completions", json={"model": "mb-ok", "messages": [
                    {"role": "user", "content": "back?"}]})
                if resp.status_code == 200:
                    return time.monotonic() - t0
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    return float("inf")


def test_router_killed_during_200_streams(chaos_mesh, results):
    async def streams():
        async with httpx.AsyncClient(base_url=edge_url(chaos_mesh), headers=auth(), timeout=STREAM_DEADLINE,
                                     limits=httpx.Limits(max_connections=250)) as client:
            tasks = [asyncio.create_task(stream_chat(client, "mb-slow-100", STREAM_DEADLINE)) for _ in range(200)]
            await asyncio.sleep(1.0)  # the streams are under way (2 s each)
            _kill(chaos_mesh, "router")
            return await asyncio.gather(*tasks)

    ends = asyncio.run(streams())
    kinds = {k: sum(1 for e in ends if e.kind == k) for k in ("complete", "error_event", "http_error", "silent",
                                                                "timeout")}
    chaos_mesh.start_service("router")
    back = _first_success_after(chaos_mesh)
    assert kinds["silent"] == kinds["timeout"] == 0, kinds
    assert max(e.seconds for e in ends) < STREAM_DEADLINE
    assert back < 5.0, f"traffic came back {back:.1f}s after the router restarted"
    results.record("faults", "router kill -9 during 200 streams", 200,
                   ", ".join(f"{v} {k}" for k, v in kinds.items() if v) + f"; traffic back {back:.1f} s after restart",
                   figures={"slowest_stream_s": round(max(e.seconds for e in ends), 1)})


def _outage(mesh, down, up, seconds: float) -> tuple[Load, float]:
    """Load before, during and after an outage made by `down()` and ended by `up()` after `seconds`."""
    load = Load(mesh)

    async def drive() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(load.run(stop))
        await asyncio.sleep(1.0)
        down()
        await asyncio.sleep(seconds)
        up()  # blocks the loop while the process starts (children must be forked on this thread)
        t_up = time.monotonic()
        while not any(s == 200 for rid, s in list(load.statuses.items())[-8:]) and time.monotonic() - t_up < 15:
            await asyncio.sleep(0.1)
        back = time.monotonic() - t_up
        await asyncio.sleep(1.5)
        stop.set()
        await task
        return back

    return load, asyncio.run(drive())


def _no_usage_lost(mesh, load: Load, before: int) -> tuple[int, int]:
    missing, recorded = asyncio.run(audit(mesh, load))
    deadline = time.monotonic() + 20
    while (counted := day_requests(mesh) - before) < recorded and time.monotonic() < deadline:
        time.sleep(0.2)
    assert missing == 0, f"{missing} answered requests have no usage record"
    assert counted == recorded, f"meter counted {counted} requests for {recorded} records"
    return missing, counted - recorded


def _statuses(load: Load) -> str:
    tally: dict[int, int] = {}
    for s in load.statuses.values():
        tally[s] = tally.get(s, 0) + 1
    return ", ".join(f"{n}x {'transport error' if s == 0 else s}" for s, n in sorted(tally.items()))


def _meter_down(chaos_mesh, results, seconds: float, variant: str) -> None:
    before = day_requests(chaos_mesh)
    load, back = _outage(chaos_mesh, lambda: _kill(chaos_mesh, "meter"),
                         lambda: chaos_mesh.start_service("meter"), seconds)
    missing, doubled = _no_usage_lost(chaos_mesh, load, before)
    answered = len(load.answered())
    assert answered == len(load.statuses), _statuses(load)  # the meter is off the request path
    results.record("faults", f"meter down {seconds:g} s during load", len(load.statuses),
                   _statuses(load), lost=missing + doubled, variant=variant)


def test_meter_down_during_load_loses_and_doubles_nothing(chaos_mesh, results):
    _meter_down(chaos_mesh, results, 3, "fast")


@pytest.mark.chaos
@pytest.mark.timeout(180)
def test_meter_down_30s_during_load(chaos_mesh, results):
    _meter_down(chaos_mesh, results, 30, "full")


def test_redis_restarted_during_load(chaos_mesh, results):
    redis = chaos_mesh.redis_server
    before = day_requests(chaos_mesh)
    health: dict = {}

    def down() -> None:
        redis.stop()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            resp = httpx.get(edge_url(chaos_mesh) + "/api/v1/health/upstreams", headers=auth(), timeout=5)
            if resp.status_code == 200 and resp.json()["degraded"]:
                health.update(resp.json())
                return
            time.sleep(0.2)

    load, back = _outage(chaos_mesh, down, redis.start, 2.0)
    assert health.get("degraded") is True, "the router never reported itself degraded while Redis was down"
    missing, doubled = _no_usage_lost(chaos_mesh, load, before)
    after = [s for rid, s in list(load.statuses.items())[-8:]]
    assert 200 in after, _statuses(load)
    assert back < 10
    # Limits and breakers work again: a health read comes from Redis, not local state.
    resp = httpx.get(edge_url(chaos_mesh) + "/api/v1/health/upstreams", headers=auth(), timeout=5).json()
    deadline = time.monotonic() + 15
    while resp["degraded"] and time.monotonic() < deadline:
        time.sleep(0.3)
        resp = httpx.get(edge_url(chaos_mesh) + "/api/v1/health/upstreams", headers=auth(), timeout=5).json()
    assert not resp["degraded"]
    results.record("faults", "Redis restarted during load", len(load.statuses),
                   f"{_statuses(load)}; router reported degraded, then recovered; traffic back {back:.1f} s after",
                   lost=missing + doubled)


def _group_alive(pgid: int) -> bool:
    """A process of the group still runs (zombies do not count: an adopted agent's parent is init,
    which reaps it on its own schedule, or never in a container whose pid 1 does not reap)."""
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def test_runtime_killed_while_agents_run_readopts_them(chaos_mesh, results):
    """Policy (services/runtime/supervisor.py): re-adopt. A crashed runtime's agents keep running; the
    next runtime adopts every live one (same pid) and starts again the one whose process died meanwhile;
    stopping them afterwards leaves no process behind."""
    script = str(Path(__file__).resolve().parents[1] / "fakes" / "agent_process.py")
    with httpx.Client(base_url=edge_url(chaos_mesh), headers=auth(), timeout=20) as api:
        pids = {}
        for agent in ("keeper", "victim"):
            created = api.post("/api/v1/agents", json={"id": agent, "model": "fake-echo", "process": {
                "command": sys.executable, "args": [script, "serve"]}})
            assert created.status_code == 201, created.text
            pids[agent] = api.post(f"/api/v1/agents/{agent}/start").json()["pid"]
        _kill(chaos_mesh, "runtime")
        os.killpg(pids["victim"], signal.SIGKILL)  # dies while no runtime watches
        assert _group_alive(pids["keeper"])
        chaos_mesh.start_service("runtime")
        deadline, health = time.monotonic() + 15, {}
        while time.monotonic() < deadline:
            health = {a: api.get(f"/api/v1/agents/{a}/health").json() for a in pids}
            if all(h.get("status") == "running" for h in health.values()) and health["victim"]["pid"] != pids["victim"]:
                break
            time.sleep(0.3)
        assert health["keeper"]["pid"] == pids["keeper"], health
        assert health["victim"]["status"] == "running" and health["victim"]["pid"] != pids["victim"], health
        running = {a["agentId"] for a in api.get("/api/v1/agents/running").json()["data"]}
        assert running == {"keeper", "victim"}
        for agent in pids:
            assert api.post(f"/api/v1/agents/{agent}/stop").status_code == 200
        assert not _group_alive(pids["keeper"]) and not _group_alive(health["victim"]["pid"])
        for agent in pids:
            api.delete(f"/api/v1/agents/{agent}")
    results.record("faults", "runtime kill -9 while 2 agents run", 2,
                   "live agent re-adopted (same pid); agent that died meanwhile restarted; none orphaned")
