"""Deployment health for GetHealth: breaker state and counters (shared, from Redis) plus this
replica's in-flight load, condensed into healthy / degraded / unhealthy.

Breakers track one model on one deployment (`Target.key`); a deployment's health is the worst of its
models' breakers and the sum of their counters."""
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

    def _units(self, dep) -> list[str]:
        units = {f"{dep.name}/{r.upstream}" for r in dep.models if not r.name.endswith("*")}
        prefix = dep.name + "/"
        units.update(k for k in [*self._stats.names(), *self._breakers.seen] if k.startswith(prefix))
        return sorted(units)

    async def report(self) -> router_pb2.GetHealthResponse:
        deps = self._book.deployments()
        units = {d.name: self._units(d) for d in deps}
        flat = await self._breakers.snapshot([u for us in units.values() for u in us])
        snapshot = {d.name: _merge([flat[u] for u in units[d.name]]) for d in deps}
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
                inflight=sum(self._stats.get(u).inflight for u in units[d.name]), open_until_ms=int(f["until"]) if f["st"] != "closed" else 0,
                models=[m.name for m in d.models], region=d.region, tier=d.tier)
        return resp


_SEVERITY = {"closed": 0, "half_open": 1, "open": 2}


def _merge(cells: list[dict]) -> dict:
    """One deployment's view from its models' breakers: worst state, summed counters, mean latencies."""
    if not cells:
        return {"st": "closed", "until": 0, "cf": 0, "ok": 0, "fail": 0, "lat": -1, "ttft": -1, "calls": 0,
                "fails": 0, "errors": {}}
    worst = max(cells, key=lambda c: _SEVERITY.get(c["st"], 0))
    errors: dict[str, int] = {}
    for c in cells:
        for k, v in c["errors"].items():
            errors[k] = errors.get(k, 0) + v

    def mean(field: str) -> float:
        seen = [c[field] for c in cells if c[field] >= 0]
        return sum(seen) / len(seen) if seen else -1

    return {"st": worst["st"], "until": max(c["until"] for c in cells), "cf": max(c["cf"] for c in cells),
            "ok": sum(c["ok"] for c in cells), "fail": sum(c["fail"] for c in cells), "lat": mean("lat"),
            "ttft": mean("ttft"), "calls": sum(c["calls"] for c in cells), "fails": sum(c["fails"] for c in cells),
            "errors": errors}
