"""The edge's outermost middleware: the SERVER span of each HTTP request, its metrics, and readiness.

The span continues the client's W3C `traceparent` (or starts a new trace) and stays current while the
handler runs, so the gRPC client interceptors parent the router call to it and every log line of the
request carries its `trace_id`. With tracing off, a client's `traceparent` is still made current (as a
non-recording span, no export), so the request's log line names the client's trace at no cost.
"""
from __future__ import annotations

import asyncio
import contextlib
import time

import grpc
import structlog
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace

from services.common import redis_probe
from services.common.metrics import Metrics
from services.common.tracing import Tracing, extract
from services.edge.middleware import CLIENT_REQUEST_ID, REQUEST_ID

log = structlog.get_logger()
_UNOBSERVED = frozenset({"/metrics", "/healthz", "/readyz"})


def _route(request: web.Request) -> str:
    """The route's pattern (`/v1/models/{model}`), never the raw path: bounded label cardinality."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _span_for(request: web.Request, tracer: trace.Tracer | None, route: str):
    if tracer is not None:
        return tracer.start_span(f"{request.method} {route}", context=extract(request.headers),
                                 kind=trace.SpanKind.SERVER, attributes={
                                     "http.request.method": request.method, "http.route": route,
                                     "url.path": request.path, "url.scheme": request.scheme})
    if "traceparent" in request.headers:
        remote = trace.get_current_span(extract(request.headers))
        return remote if remote.get_span_context().is_valid else None
    return None


def make_observer(tracing: Tracing, metrics: Metrics):
    tracer = tracing.tracer if tracing.enabled else None

    @web.middleware
    async def observe(request: web.Request, handler):
        route = _route(request)
        if route in _UNOBSERVED:
            return await handler(request)
        span = _span_for(request, tracer, route)
        metrics.inflight.labels(route).inc()
        t0, status = time.perf_counter(), 500
        try:
            with trace.use_span(span, end_on_exit=False) if span is not None else contextlib.nullcontext():
                resp = await handler(request)
            status = resp.status
            return resp
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away
            raise
        finally:
            metrics.inflight.labels(route).dec()
            metrics.requests.labels(route, str(status)).inc()
            metrics.latency.labels(route).observe(time.perf_counter() - t0)
            if status >= 400:
                metrics.errors.labels(route, str(status)).inc()
            if span is not None and span.is_recording():
                span.set_attribute("http.response.status_code", status)
                span.set_attribute("tokenyard.request_id", request.get(REQUEST_ID, ""))
                if request.get(CLIENT_REQUEST_ID):
                    span.set_attribute("tokenyard.client_request_id", request[CLIENT_REQUEST_ID])
                if status >= 500:
                    span.set_status(trace.StatusCode.ERROR, f"HTTP {status}")
                span.end()

    return observe


class Readiness:
    """`/healthz`: the process is up. `/readyz`: it should get traffic: not draining, the router answers
    its gRPC health check with SERVING, and Redis (keys, rate limits) can serve: reachable and, for a
    Cluster, every master answering and `cluster_state:ok` (services/common/redis_probe.py).

    Every other peer (`optional`: the meter, the runtime) is checked too and reported under `checks`,
    so the answer tells the truth about each dependency; they do not make the edge unready, because
    chat keeps working without them (usage is spooled, agents are a separate API) and taking every
    edge out of rotation for them would turn a partial outage into a total one."""

    def __init__(self, router_channel: grpc.aio.Channel, redis, timeout: float = 1.0,
                 optional: dict[str, grpc.aio.Channel] | None = None) -> None:
        self._health = health_pb2_grpc.HealthStub(router_channel)
        self._optional = {name: health_pb2_grpc.HealthStub(ch) for name, ch in (optional or {}).items()}
        self._redis = redis
        self._timeout = timeout
        self.draining = False

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, _request: web.Request) -> web.Response:
        if self.draining:
            return web.json_response({"status": "draining"}, status=503)
        names = list(self._optional)
        router, redis, *others = await asyncio.gather(
            self._serving(self._health), self._redis_state(), *(self._serving(self._optional[n]) for n in names))
        checks = {"router": "ok" if router else "unavailable", "redis": redis,
                  **{n: "ok" if ok else "unavailable" for n, ok in zip(names, others)}}
        ready = router and redis == redis_probe.OK
        status = ("ready" if all(others) else "degraded") if ready else "not_ready"
        return web.json_response({"status": status, "checks": checks}, status=200 if ready else 503)

    async def _serving(self, stub: health_pb2_grpc.HealthStub) -> bool:
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=self._timeout)
        except grpc.aio.AioRpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    async def _redis_state(self) -> str:
        state, detail = await redis_probe.probe(self._redis, self._timeout)
        if state != redis_probe.OK:
            log.warning("readyz_redis_unavailable", state=state, error=detail)
        return state
