"""Agent health from the agents' own requests in the request log: what an operator's health widget shows.

Over a recent window (default 15 minutes, at most `max_rows` requests), per agent: success rate,
consecutive failures (since its last success), latency p50/p95/p99 and failures by type, and a status:
unhealthy when it keeps failing (>= 5 in a row, or under half succeed), degraded when it fails now and
then (>= 2 in a row, or under 95%), healthy otherwise. A cancelled request (the client left) is neither
a success nor a failure. The same figures are exported as gauges, refreshed on a schedule.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge

from tokenyard.meter.v1 import meter_pb2

HEALTHY, DEGRADED, UNHEALTHY = (meter_pb2.AGENT_HEALTH_STATUS_HEALTHY, meter_pb2.AGENT_HEALTH_STATUS_DEGRADED,
                                meter_pb2.AGENT_HEALTH_STATUS_UNHEALTHY)


def agent_rows_sql(ph: str, workspace: str) -> str:
    """Recent requests of agents, newest first (params: since_ms, [workspace], limit)."""
    ws = f" AND workspace = {ph}" if workspace else ""
    return ("SELECT agent_id, status, latency_ms, http_status, attempts, started_at_ms FROM request_log "
            f"WHERE agent_id <> '' AND started_at_ms >= {ph}{ws} ORDER BY started_at_ms DESC LIMIT {ph}")


def percentile(sorted_values: list[int], q: float) -> int:
    if not sorted_values:
        return 0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def error_type(status: str, http_status: int, attempts_json: str) -> str:
    attempts = json.loads(attempts_json or "[]")
    cause = attempts[-1].get("cause") if attempts else ""
    return cause or (status if status == "interrupted" else f"http_{http_status or 0}")


@dataclass
class _Tally:
    requests: int = 0
    ok: int = 0
    failed: int = 0
    streak: int = 0
    streak_open: bool = True
    latencies: list[int] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    last_ms: int = 0


def assess(rows: list[tuple]) -> list[meter_pb2.AgentRequestHealth]:
    """`rows`: (agent_id, status, latency_ms, http_status, attempts, started_at_ms), newest first."""
    tallies: dict[str, _Tally] = {}
    for agent, status, latency, http_status, attempts, at in rows:
        t = tallies.setdefault(agent, _Tally(last_ms=at))
        t.requests += 1
        t.latencies.append(int(latency))
        if status == "cancelled":
            continue
        if status == "ok":
            t.ok += 1
            t.streak_open = False
        else:
            t.failed += 1
            kind = error_type(status, http_status, attempts)
            t.errors[kind] = t.errors.get(kind, 0) + 1
            if t.streak_open:
                t.streak += 1
    out = []
    for agent, t in sorted(tallies.items()):
        decided = t.ok + t.failed
        rate = t.ok / decided if decided else 1.0
        status = (UNHEALTHY if t.streak >= 5 or rate < 0.5 else DEGRADED if t.streak >= 2 or rate < 0.95 else HEALTHY)
        lat = sorted(t.latencies)
        out.append(meter_pb2.AgentRequestHealth(
            agent_id=agent, status=status, requests=t.requests, success_rate=round(rate, 4),
            consecutive_failures=t.streak, latency_p50_ms=percentile(lat, 0.50), latency_p95_ms=percentile(lat, 0.95),
            latency_p99_ms=percentile(lat, 0.99), errors_by_type=t.errors, last_request_ms=t.last_ms))
    return out


class AgentHealthMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.status = Gauge("tokenyard_agent_health_status", "Agent health from its recent requests: 0 healthy, "
                            "1 degraded, 2 unhealthy", ["agent"], registry=registry)
        self.success = Gauge("tokenyard_agent_success_ratio", "Share of an agent's recent requests that succeeded",
                             ["agent"], registry=registry)
        self.streak = Gauge("tokenyard_agent_consecutive_failures", "Failed requests since the agent's last success",
                            ["agent"], registry=registry)
        self.latency = Gauge("tokenyard_agent_latency_ms", "Latency percentiles of an agent's recent requests",
                             ["agent", "quantile"], registry=registry)
        self.errors = Gauge("tokenyard_agent_errors", "Failed recent requests of an agent by type",
                            ["agent", "type"], registry=registry)

    def publish(self, agents: list[meter_pb2.AgentRequestHealth]) -> None:
        for g in (self.status, self.success, self.streak, self.latency, self.errors):
            g.clear()  # an agent that left the window leaves the metrics too (bounded label sets)
        for a in agents:
            self.status.labels(a.agent_id).set(a.status - 1)
            self.success.labels(a.agent_id).set(a.success_rate)
            self.streak.labels(a.agent_id).set(a.consecutive_failures)
            for q, v in (("0.5", a.latency_p50_ms), ("0.95", a.latency_p95_ms), ("0.99", a.latency_p99_ms)):
                self.latency.labels(a.agent_id, q).set(v)
            for kind, n in a.errors_by_type.items():
                self.errors.labels(a.agent_id, kind).set(n)


class AgentHealth:
    def __init__(self, store, metrics: AgentHealthMetrics | None = None, window_seconds: int = 900,
                 max_rows: int = 20_000, clock: Callable[[], float] = time.time, interval: float = 30.0,
                 sleep=asyncio.sleep) -> None:
        self._store, self._metrics = store, metrics
        self.window_seconds, self._max_rows = window_seconds, max_rows
        self._clock, self._interval, self._sleep = clock, interval, sleep
        self._task: asyncio.Task | None = None

    async def report(self, agent_id: str = "", workspace: str = "") -> meter_pb2.GetAgentRequestHealthResponse:
        since = int((self._clock() - self.window_seconds) * 1000)
        rows = await self._store.agent_rows(since, self._max_rows, workspace)
        agents = assess(rows)
        if not agent_id and not workspace and self._metrics is not None:
            self._metrics.publish(agents)
        if agent_id:
            agents = [a for a in agents if a.agent_id == agent_id]
        counts = {s: sum(1 for a in agents if a.status == s) for s in (HEALTHY, DEGRADED, UNHEALTHY)}
        ok = sum(round(a.success_rate * a.requests) for a in agents)
        total = sum(a.requests for a in agents)
        return meter_pb2.GetAgentRequestHealthResponse(
            window_seconds=self.window_seconds, agents=agents, healthy=counts[HEALTHY], degraded=counts[DEGRADED],
            unhealthy=counts[UNHEALTHY], success_rate=round(ok / total, 4) if total else 1.0)

    async def _loop(self) -> None:
        while True:
            try:
                await self.report()
            except Exception:  # the store is down: the writer already says so; try again next round
                pass
            await self._sleep(self._interval)

    def start(self) -> None:
        if self._metrics is not None:
            self._task = asyncio.create_task(self._loop())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
