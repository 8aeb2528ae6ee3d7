"""Agent health from recent requests: the statuses a health widget shows, and the same figures as metrics."""
from __future__ import annotations

import json

from prometheus_client import CollectorRegistry

from services.meter.requestlog.agent_health import AgentHealth, AgentHealthMetrics, assess
from tokenyard.meter.v1 import meter_pb2

FAIL = json.dumps([{"cause": "rate_limited"}])


def rows(agent: str, outcomes: str, at: int = 1000) -> list[tuple]:
    """`outcomes` newest first: o ok, e error, c cancelled."""
    status = {"o": "ok", "e": "error", "c": "cancelled"}
    return [(agent, status[o], 100 * (i + 1), 429 if o == "e" else 200, FAIL if o == "e" else "[]", at - i)
            for i, o in enumerate(outcomes)]


def test_status_follows_recent_failures_and_cancellations_count_for_neither():
    report = {a.agent_id: a for a in assess(rows("ok", "ooooooooooc") + rows("blip", "eeoooooooooooooooooo")
                                            + rows("down", "eeeeeo") + rows("left", "cccc"))}
    assert report["ok"].status == meter_pb2.AGENT_HEALTH_STATUS_HEALTHY and report["ok"].success_rate == 1.0
    assert report["blip"].status == meter_pb2.AGENT_HEALTH_STATUS_DEGRADED
    assert report["blip"].consecutive_failures == 2 and dict(report["blip"].errors_by_type) == {"rate_limited": 2}
    assert report["down"].status == meter_pb2.AGENT_HEALTH_STATUS_UNHEALTHY and report["down"].consecutive_failures == 5
    assert report["left"].status == meter_pb2.AGENT_HEALTH_STATUS_HEALTHY and report["left"].requests == 4
    assert (report["down"].latency_p50_ms, report["down"].latency_p99_ms) == (400, 600)


class Store:
    def __init__(self, data: list[tuple]) -> None:
        self.data, self.asked = data, []

    async def agent_rows(self, since_ms: int, limit: int, workspace: str = "") -> list[tuple]:
        self.asked.append((since_ms, workspace))
        return self.data


async def test_the_report_publishes_gauges_and_drops_agents_that_left_the_window():
    registry = CollectorRegistry()
    store = Store(rows("bot", "eeeeeo", at=5_000_000))
    health = AgentHealth(store, AgentHealthMetrics(registry), window_seconds=900, clock=lambda: 5_000.0)
    r = await health.report()
    assert (r.unhealthy, r.healthy, r.window_seconds) == (1, 0, 900) and store.asked == [(4_100_000, "")]
    assert registry.get_sample_value("tokenyard_agent_health_status", {"agent": "bot"}) == 2
    assert registry.get_sample_value("tokenyard_agent_consecutive_failures", {"agent": "bot"}) == 5
    assert registry.get_sample_value("tokenyard_agent_errors", {"agent": "bot", "type": "rate_limited"}) == 5
    assert registry.get_sample_value("tokenyard_agent_latency_ms", {"agent": "bot", "quantile": "0.95"}) == 600
    store.data = []
    await health.report()
    assert registry.get_sample_value("tokenyard_agent_health_status", {"agent": "bot"}) is None
