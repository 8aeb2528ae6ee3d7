"""Deployment health for GetHealth: breaker state and counters (shared, from Redis) plus this
replica's in-flight load, condensed into healthy / degraded / unhealthy."""
from __future__ import annotations

from services.router.breaker import BreakerStore
from services.router.policy import BreakerPolicy
from services.router.stats import LocalStats
from services.router.upstreams import UpstreamBook
from tokenyard.router.v1 import router_pb2

DEGRADED_FAILURE_RATE = 0.1


def status_of(fields: dict, policy: BreakerPolicy) -> str:
    """unhealthy: refusing calls or failing in a row; degraded: probing, or a failure rate worth a look."""
    if fields["st"] == "open" or fields["cf"] >= policy.consecutive:
        return "unhealthy"
    calls, fails = fields["calls"], fields["fails"]
    if fields["st"] == "half_open" or fields["cf"] > 0 or (calls and fails / calls >= DEGRADED_FAILURE_RATE):
        return "degraded"
    return "healthy"


class HealthReporter:
    def __init__(self, book: UpstreamBook, breakers: BreakerStore, stats: LocalStats, policy: BreakerPolicy) -> None:
        self._book, self._breakers, self._stats, self._policy = book, breakers, stats, policy

    async def report(self) -> router_pb2.GetHealthResponse:
        deps = self._book.deployments()
        snapshot = await self._breakers.snapshot([d.name for d in deps])
        resp = router_pb2.GetHealthResponse(degraded=self._breakers.degraded,
                                            state_store="local" if self._breakers.degraded else "redis")
        for d in deps:
            f = snapshot[d.name]
            calls, fails = f["calls"], f["fails"]
            resp.deployments.add(
                name=d.name, provider=d.provider, vendor=d.vendor, source=d.source, status=status_of(f, self._policy),
                breaker_state=f["st"], consecutive_failures=f["cf"], window_calls=calls, window_failures=fails,
                success_rate=(1 - fails / calls) if calls else 1.0, errors_by_kind=f["errors"],
                avg_latency_ms=max(0.0, f["lat"]), avg_ttft_ms=max(0.0, f["ttft"]),
                inflight=self._stats.get(d.name).inflight, open_until_ms=int(f["until"]) if f["st"] != "closed" else 0,
                models=[m.name for m in d.models], region=d.region, tier=d.tier)
        return resp
