"""`GET /api/v1/health/upstreams` (master key): every deployment's breaker state and health as the
router fleet shares it in Redis, and whether the router is running on local state (`degraded`)."""
from __future__ import annotations

import grpc
from aiohttp import web

from services.edge.errors import rpc_error_response
from services.edge.middleware import require_master, id_headers
from tokenyard.router.v1 import router_pb2, router_pb2_grpc


def _deployment(d: router_pb2.DeploymentHealth) -> dict:
    return {"name": d.name, "provider": d.provider, "vendor": d.vendor, "source": d.source, "status": d.status,
            "breaker": {"state": d.breaker_state, "consecutive_failures": d.consecutive_failures,
                        "open_until_ms": d.open_until_ms or None},
            "window": {"calls": d.window_calls, "failures": d.window_failures, "success_rate": d.success_rate},
            "errors_by_kind": dict(d.errors_by_kind), "avg_latency_ms": round(d.avg_latency_ms, 2),
            "avg_ttft_ms": round(d.avg_ttft_ms, 2), "inflight": d.inflight, "models": list(d.models),
            "region": d.region or None, "tier": d.tier or None}


class UpstreamHealthHandler:
    def __init__(self, router: router_pb2_grpc.RouterServiceStub) -> None:
        self._router = router

    async def get(self, request: web.Request) -> web.Response:
        if (denied := require_master(request)) is not None:
            return denied
        try:
            health = await self._router.GetHealth(router_pb2.GetHealthRequest(), timeout=5)
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, id_headers(request))
        return web.json_response({"object": "upstream_health", "degraded": health.degraded,
                                  "state_store": health.state_store,
                                  "data": [_deployment(d) for d in health.deployments]})
