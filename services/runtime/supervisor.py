"""Supervised agent processes: start, stop, restart on crash with backoff, and re-adoption.

Policy on a runtime restart: **re-adopt**. Every running agent has a run file (`run.json`: pid,
process group, kernel start time, virtual key id) in its state folder; a new runtime reads them in
`recover()`, takes over every process that is still the same process, and watches it by polling
(it is no longer our child, so its exit code is unknown and it counts as a failure for the restart
policy). A run file whose process is gone means the agent was meant to run: it is started again. A
live process whose agent was deleted meanwhile is an orphan: it is stopped and reported in the log.
A graceful runtime shutdown stops its agents (config `stop_agents_on_exit`).
"""
from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from dataclasses import dataclass, field

import structlog

from services.common.errors import GatewayError
from services.runtime import processes
from services.runtime.agent_files import AgentFiles
from services.runtime.registry import AgentRegistry
from tokenyard.runtime.v1 import runtime_pb2

log = structlog.get_logger()
RESET_AFTER_SECONDS = 60.0  # a run this long ends a crash streak: the next crash restarts fast again


@dataclass
class Run:
    """What the supervisor knows about one agent's process."""

    agent_id: str
    spec: runtime_pb2.ProcessSpec
    workspace: str = ""
    status: str = "starting"
    pid: int = 0
    ticks: int | None = None
    started_at: float = 0.0
    restarts: int = 0
    restart_delays: list[float] = field(default_factory=list)
    last_exit_code: int | None = None
    adopted: bool = False
    key_id: str = ""
    token: str = field(default="", repr=False)
    proc: subprocess.Popen | None = None
    stopping: bool = False
    task: asyncio.Task | None = None

    def health(self, now: float) -> runtime_pb2.AgentHealth:
        h = runtime_pb2.AgentHealth(agent_id=self.agent_id, status=self.status, pid=self.pid, restarts=self.restarts,
                                    restart_delays=self.restart_delays, adopted=self.adopted,
                                    started_at_ms=int(self.started_at * 1000))
        if self.status == "running":
            h.uptime_seconds = round(max(0.0, now - self.started_at), 3)
        if self.last_exit_code is not None:
            h.last_exit_code = self.last_exit_code
        return h


def backoff(policy: runtime_pb2.RestartPolicy, attempt: int) -> float:
    initial = policy.backoff_initial_seconds or 1.0
    return min(initial * (policy.backoff_multiplier or 2.0) ** attempt, policy.backoff_max_seconds or 60.0)


def should_restart(policy: runtime_pb2.RestartPolicy, code: int | None) -> bool:
    if policy.mode == runtime_pb2.RESTART_MODE_NEVER:
        return False
    return policy.mode == runtime_pb2.RESTART_MODE_ALWAYS or code != 0


class Supervisor:
    def __init__(self, files: AgentFiles, registry: AgentRegistry, keys, edge_url: str, owner: str = "",
                 clock=time.time, sleep=asyncio.sleep, poll_interval: float = 0.2) -> None:
        """`owner` names this runtime's Redis and address; recovery only touches run files it wrote, so
        two meshes sharing a state folder never adopt (or kill) each other's agents."""
        self._owner = owner
        self._files = files
        self._registry = registry
        self._keys = keys
        self._edge_url = edge_url.rstrip("/")
        self._clock = clock
        self._sleep = sleep
        self._poll = poll_interval
        self._runs: dict[str, Run] = {}
        self._lock = asyncio.Lock()

    def health(self, agent_id: str) -> runtime_pb2.AgentHealth:
        run = self._runs.get(agent_id)
        return run.health(self._clock()) if run else runtime_pb2.AgentHealth(agent_id=agent_id, status="stopped")

    def running(self) -> list[runtime_pb2.AgentHealth]:
        return [r.health(self._clock()) for r in self._runs.values() if r.status in ("running", "restarting", "starting")]

    async def start(self, agent: runtime_pb2.Agent) -> runtime_pb2.AgentHealth:
        async with self._lock:
            current = self._runs.get(agent.id)
            if current and current.status in ("running", "restarting", "starting"):
                return current.health(self._clock())
            run = Run(agent.id, agent.process, agent.workspace)
            await self._files.write_config(agent, self._edge_url)
            try:
                await self._spawn(run)
            except OSError:
                await self._release(run)
                await self._files.remove_config(agent.id)
                raise
            self._runs[agent.id] = run
            run.task = asyncio.create_task(self._watch(run))
            log.info("agent_started", agent_id=agent.id, pid=run.pid)
            return run.health(self._clock())

    async def _spawn(self, run: Run) -> None:
        argv = [processes.resolve_command(run.spec.command, run.spec.working_dir) or "", *run.spec.args]
        if not argv[0]:
            raise FileNotFoundError(run.spec.command)
        if not run.token:
            if run.key_id:  # an adopted run: its token died with the old runtime, so replace its key
                await self._keys.revoke(run.key_id)
            record, run.token = await self._keys.create(workspace=run.workspace or "default", agent_id=run.agent_id,
                                                        name=f"agent:{run.agent_id}")
            run.key_id = record.key_id
        env = processes.agent_env(dict(run.spec.env), {
            "OPENAI_BASE_URL": f"{self._edge_url}/v1", "OPENAI_API_KEY": run.token,
            "TOKENYARD_AGENT_ID": run.agent_id, "TOKENYARD_AGENT_CONFIG": str(self._files.config_path(run.agent_id))})
        run.proc = await processes.spawn(argv, run.spec.working_dir, env, self._files.log_path(run.agent_id))
        run.pid, run.ticks = run.proc.pid, processes.start_ticks(run.proc.pid)
        run.started_at, run.status, run.adopted = self._clock(), "running", False
        await self._files.write_run(run.agent_id, {"owner": self._owner, "pid": run.pid, "ticks": run.ticks, "key_id": run.key_id,
                                                   "started_at": run.started_at, "restarts": run.restarts})

    async def _wait_exit(self, run: Run) -> int | None:
        if run.proc is not None:
            await processes.wait_exit(run.proc.pid, self._poll)
            return await asyncio.to_thread(run.proc.wait)  # already exited: this only reaps it
        while processes.alive(run.pid, run.ticks):
            await processes.wait_exit(run.pid, self._poll)
        return None  # not our child: the exit code went to its new parent

    async def _watch(self, run: Run) -> None:
        while True:
            code = await self._wait_exit(run)
            run.last_exit_code, run.proc, run.pid = code, None, 0
            if run.stopping:
                return
            log.warning("agent_exited", agent_id=run.agent_id, exit_code=code)
            if self._clock() - run.started_at >= RESET_AFTER_SECONDS:
                run.restart_delays.clear()
            limit = run.spec.restart.max_restarts or 5
            if not should_restart(run.spec.restart, code) or (limit >= 0 and len(run.restart_delays) >= limit):
                run.status = "exited" if code == 0 else "failed"
                await self._release(run)
                return
            delay = backoff(run.spec.restart, len(run.restart_delays))
            run.restart_delays.append(delay)
            run.status = "restarting"
            await self._sleep(delay)
            if run.stopping:
                return
            try:
                run.restarts += 1
                await self._spawn(run)
                log.info("agent_restarted", agent_id=run.agent_id, pid=run.pid, delay=delay, restarts=run.restarts)
            except OSError as exc:
                log.error("agent_restart_failed", agent_id=run.agent_id, error=str(exc))
                run.status = "failed"
                await self._release(run)
                return

    async def _release(self, run: Run) -> None:
        """Forgets the run on disk and revokes its key: nothing of it may outlive the process."""
        await self._files.remove_run(run.agent_id)
        if run.key_id:
            await self._keys.revoke(run.key_id)
            run.key_id, run.token = "", ""

    async def stop(self, agent_id: str) -> runtime_pb2.AgentHealth:
        run = self._runs.get(agent_id)
        if run is None:
            return self.health(agent_id)
        run.stopping = True
        if run.pid:
            killed = await processes.terminate_group(run.pid, run.spec.stop_grace_seconds or 10.0)
            log.info("agent_stopped", agent_id=agent_id, pid=run.pid, killed=killed)
        if run.task is not None:
            if run.status == "restarting" or run.proc is None:
                run.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run.task
        run.status, run.pid = "stopped", 0
        await self._release(run)
        await self._files.remove_config(agent_id)
        return run.health(self._clock())

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(a) for a in list(self._runs)))

    async def detach(self) -> None:
        """Stops watching without stopping the agents (they are re-adopted by the next runtime)."""
        for run in self._runs.values():
            if run.task is not None:
                run.task.cancel()

    async def recover(self) -> dict[str, list[str]]:
        """Re-adopts agents left running by a previous runtime; returns what it did, by outcome."""
        outcome: dict[str, list[str]] = {"adopted": [], "restarted": [], "orphans": []}
        for agent_id, state in await self._files.runs():
            if state.get("owner", "") != self._owner:
                continue
            pid, ticks = int(state.get("pid", 0)), state.get("ticks")
            try:
                agent = await self._registry.get(agent_id)
            except GatewayError:  # deleted while we were away: its process is an orphan
                agent = None
            if agent is None:
                if pid and processes.alive(pid, ticks):
                    await processes.terminate_group(pid, 5.0)
                    log.warning("agent_orphan_stopped", agent_id=agent_id, pid=pid)
                if state.get("key_id"):
                    await self._keys.revoke(state["key_id"])
                await self._files.remove_run(agent_id)
                outcome["orphans"].append(agent_id)
                continue
            run = Run(agent_id, agent.process, agent.workspace, restarts=int(state.get("restarts", 0)))
            if pid and processes.alive(pid, ticks):
                run.pid, run.ticks, run.status, run.adopted = pid, ticks, "running", True
                run.started_at, run.key_id = float(state.get("started_at", self._clock())), state.get("key_id", "")
                outcome["adopted"].append(agent_id)
            else:
                if state.get("key_id"):
                    await self._keys.revoke(state["key_id"])
                await self._spawn(run)
                outcome["restarted"].append(agent_id)
            self._runs[agent_id] = run
            run.task = asyncio.create_task(self._watch(run))
        if any(outcome.values()):
            log.info("agents_recovered", **outcome)
        return outcome
