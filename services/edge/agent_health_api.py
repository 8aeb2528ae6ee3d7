"""`GET /api/v1/agents/health`: the agent health widget's data, from the agents' recent requests.

A summary (how many agents are healthy, degraded, unhealthy; overall success rate) and per agent its
status, success rate, consecutive failures, latency percentiles and failures by type (the meter
computes them from the request log: services/meter/requestlog/agent_health.py). The master key sees
every agent; a virtual key those of its own workspace.
"""
from __future__ import annotations

import grpc
from aiohttp import web

from services.edge.errors import rpc_error_response
from services.edge.middleware import PRINCIPAL, REQUEST_ID
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

_STATUS = {meter_pb2.AGENT_HEALTH_STATUS_HEALTHY: "healthy", meter_pb2.AGENT_HEALTH_STATUS_DEGRADED: "degraded",
           meter_pb2.AGENT_HEALTH_STATUS_UNHEALTHY: "unhealthy"}


def agent_json(a: meter_pb2.AgentRequestHealth) -> dict:
    return {"agent_id": a.agent_id, "status": _STATUS.get(a.status, "healthy"), "requests": a.requests,
            "success_rate": a.success_rate, "consecutive_failures": a.consecutive_failures,
            "latency_ms": {"p50": a.latency_p50_ms, "p95": a.latency_p95_ms, "p99": a.latency_p99_ms},
            "errors_by_type": dict(a.errors_by_type), "last_request_ms": a.last_request_ms}


class AgentHealthHandler:
    def __init__(self, meter: meter_pb2_grpc.MeterServiceStub, timeout: float = 10.0) -> None:
        self._meter, self._timeout = meter, timeout

    async def get(self, request: web.Request) -> web.Response:
        principal = request[PRINCIPAL]
        workspace = request.query.get("workspace", "") if principal.is_master else (principal.caller.workspace or "\x00")
        try:
            r = await self._meter.GetAgentRequestHealth(meter_pb2.GetAgentRequestHealthRequest(
                agent_id=request.query.get("agent_id", ""), workspace=workspace), timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, {"x-request-id": request[REQUEST_ID]})
        return web.json_response({
            "object": "agent_health", "window_seconds": r.window_seconds,
            "summary": {"agents": len(r.agents), "healthy": r.healthy, "degraded": r.degraded,
                        "unhealthy": r.unhealthy, "success_rate": r.success_rate},
            "data": [agent_json(a) for a in r.agents]})
