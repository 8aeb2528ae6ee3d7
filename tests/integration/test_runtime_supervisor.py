"""Supervised agent processes: real child processes started, watched, restarted and stopped by a real runtime."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import grpc
import pytest

from services.common.keystore import KeyStore
from services.runtime.processes import group_exists, start_ticks
from tests.fakes.agent_runtime import running_runtime
from tokenyard.runtime.v1 import runtime_pb2 as pb

SCRIPT = str(Path(__file__).resolve().parents[1] / "fakes" / "agent_process.py")


def process_agent(agent_id: str, *args: str, **spec) -> pb.CreateAgentRequest:
    return pb.CreateAgentRequest(agent=pb.Agent(id=agent_id, model="ok-x", process=pb.ProcessSpec(
        command=sys.executable, args=[SCRIPT, *args], **spec)))


async def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError("condition not met in time")


async def log_lines(stub, agent_id: str) -> list[str]:
    out = []
    async for msg in stub.StreamAgentLogs(pb.StreamAgentLogsRequest(agent_id=agent_id, tail_lines=50)):
        out.extend(msg.lines)
    return out


async def test_start_health_logs_and_stop_leave_nothing_behind(redis_server, redis_client, tmp_path):
    async with running_runtime(redis_server.url, tmp_path) as rt:
        await rt.stub.CreateAgent(process_agent("svc", "serve"))
        started = (await rt.stub.StartAgent(pb.StartAgentRequest(agent_id="svc"))).health
        assert started.status == "running" and started.pid > 0
        again = (await rt.stub.StartAgent(pb.StartAgentRequest(agent_id="svc"))).health
        assert again.pid == started.pid  # starting a running agent is a no-op, not a second process
        lines = await wait_for(lambda: log_lines(rt.stub, "svc"))
        assert "agent svc up; base=http://127.0.0.1:9/v1 key_prefix=ty- redis_visible=False " \
               "encryption_key_visible=False" in lines
        run = json.loads((tmp_path / "state" / "svc" / "run.json").read_text())
        key = await KeyStore(redis_client).get(run["key_id"])
        assert key is not None and key.agent_id == "svc"
        config = tmp_path / "state" / "svc" / "agent.json"
        assert json.loads(config.read_text())["agent"]["id"] == "svc"
        running = (await rt.stub.ListRunningAgents(pb.ListRunningAgentsRequest())).agents
        assert [a.agent_id for a in running] == ["svc"]
        health = (await rt.stub.GetAgentHealth(pb.GetAgentHealthRequest(agent_id="svc"))).health
        assert health.pid == started.pid and health.uptime_seconds > 0

        follow = rt.stub.StreamAgentLogs(pb.StreamAgentLogsRequest(agent_id="svc", tail_lines=1, follow=True))
        assert (await follow.read()).lines
        stopped = (await rt.stub.StopAgent(pb.StopAgentRequest(agent_id="svc"))).health
        assert stopped.status == "stopped" and stopped.last_exit_code == 0
        followed = []
        while "agent got SIGTERM" not in followed:
            followed.extend((await asyncio.wait_for(follow.read(), 5)).lines)
        follow.cancel()
        assert start_ticks(started.pid) is None and not group_exists(started.pid)
        assert not config.exists() and not (tmp_path / "state" / "svc" / "run.json").exists()
        assert await KeyStore(redis_client).get(run["key_id"]) is None  # the agent's key dies with the process
        assert (await rt.stub.ListRunningAgents(pb.ListRunningAgentsRequest())).agents == []


async def test_stop_kills_a_process_group_that_ignores_sigterm(redis_server, redis_client, tmp_path):
    async with running_runtime(redis_server.url, tmp_path) as rt:
        await rt.stub.CreateAgent(process_agent("stub", "stubborn", stop_grace_seconds=0.3))
        pid = (await rt.stub.StartAgent(pb.StartAgentRequest(agent_id="stub"))).health.pid
        await wait_for(lambda: log_lines(rt.stub, "stub"))
        assert group_exists(pid)
        await rt.stub.StopAgent(pb.StopAgentRequest(agent_id="stub"))
        assert not group_exists(pid)  # leader and its forked helper are both gone


async def test_a_crashing_agent_is_restarted_with_growing_delays_then_given_up(redis_server, redis_client, tmp_path):
    starts = tmp_path / "starts.txt"
    async with running_runtime(redis_server.url, tmp_path) as rt:
        policy = pb.RestartPolicy(max_restarts=3, backoff_initial_seconds=0.2, backoff_multiplier=2)
        await rt.stub.CreateAgent(process_agent("crashy", "crash", str(starts), restart=policy))
        await rt.stub.StartAgent(pb.StartAgentRequest(agent_id="crashy"))

        async def failed():
            h = (await rt.stub.GetAgentHealth(pb.GetAgentHealthRequest(agent_id="crashy"))).health
            return h if h.status == "failed" else None

        health = await wait_for(failed)
        assert health.restarts == 3 and list(health.restart_delays) == [0.2, 0.4, 0.8]
        assert health.last_exit_code == 3 and health.pid == 0
        times = [float(t) for t in starts.read_text().split()]
        assert len(times) == 4
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert all(gap >= delay for gap, delay in zip(gaps, [0.2, 0.4, 0.8]))
        assert await redis_client.keys("ty:key:id:*") == []  # gave up: its key is revoked


async def test_runtime_restart_re_adopts_running_agents(redis_server, redis_client, tmp_path):
    async with running_runtime(redis_server.url, tmp_path, stop_agents=False) as first:
        await first.stub.CreateAgent(process_agent("keep", "serve"))
        pid = (await first.stub.StartAgent(pb.StartAgentRequest(agent_id="keep"))).health.pid
        await wait_for(lambda: log_lines(first.stub, "keep"))
    assert start_ticks(pid) is not None  # the runtime went away; the agent did not

    async with running_runtime(redis_server.url, tmp_path) as second:
        health = (await second.stub.GetAgentHealth(pb.GetAgentHealthRequest(agent_id="keep"))).health
        assert health.status == "running" and health.pid == pid and health.adopted
        stopped = (await second.stub.StopAgent(pb.StopAgentRequest(agent_id="keep"))).health
        assert stopped.status == "stopped"
        assert not group_exists(pid)


async def test_recovery_restarts_dead_agents_and_stops_orphans(redis_server, redis_client, tmp_path):
    async with running_runtime(redis_server.url, tmp_path, stop_agents=False) as first:
        for agent_id in ("dies", "orphan"):
            await first.stub.CreateAgent(process_agent(agent_id, "serve"))
        dies = (await first.stub.StartAgent(pb.StartAgentRequest(agent_id="dies"))).health.pid
        orphan = (await first.stub.StartAgent(pb.StartAgentRequest(agent_id="orphan"))).health.pid
        await wait_for(lambda: log_lines(first.stub, "orphan"))
    import os
    import signal
    os.killpg(dies, signal.SIGKILL)  # dies while no runtime watches
    await redis_client.delete("ty:agent:orphan")  # deleted while no runtime watches
    await wait_for(lambda: asyncio.sleep(0, result=not group_exists(dies)))

    async with running_runtime(redis_server.url, tmp_path) as second:
        health = (await second.stub.GetAgentHealth(pb.GetAgentHealthRequest(agent_id="dies"))).health
        assert health.status == "running" and health.pid not in (0, dies) and not health.adopted
        assert not group_exists(orphan)
        assert not (tmp_path / "state" / "orphan" / "run.json").exists()
    assert not group_exists(health.pid)  # a graceful runtime stop takes its agents with it


async def test_start_errors_are_client_errors(redis_server, redis_client, tmp_path):
    async with running_runtime(redis_server.url, tmp_path) as rt:
        await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(id="nocmd", model="ok")))
        await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(
            id="missing", process=pb.ProcessSpec(command="definitely-not-a-command-xyz"))))
        for agent_id in ("nocmd", "missing"):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await rt.stub.StartAgent(pb.StartAgentRequest(agent_id=agent_id))
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert await redis_client.keys("ty:key:id:*") == []  # no key left behind by a failed start
