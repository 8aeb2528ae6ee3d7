"""Prometheus metrics of one service process, and the small HTTP server that exposes them.

Each process owns a registry of its own (passed to whoever records), so tests can build several
services in one process without the global registry colliding. The edge serves `GET /metrics` on its
HTTP port; gRPC services serve it on `TOKENYARD_<SERVICE>_METRICS_PORT` or `TOKENYARD_METRICS_PORT`
(0 or unset: off), on `TOKENYARD_METRICS_HOST` (default: TOKENYARD_GRPC_HOST, else 127.0.0.1).

prometheus_client and aiohttp.web are imported when a registry or the server is built, not with this module:
a gRPC service with no metrics port never builds either, and skips their ~10 MB of resident modules.
"""
from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping

from typing import TYPE_CHECKING

from services.common.env import ConfigError

if TYPE_CHECKING:
    from aiohttp import web
    from prometheus_client import CollectorRegistry

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30)
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


class Metrics:
    """The gateway's metrics. Names are shared by every service; each uses the ones that apply to it."""

    def __init__(self, registry: CollectorRegistry | None = None,
                 models: Callable[[str], str] | None = None) -> None:
        """`models` maps a request's model name to its label (services.common.model_labels: configured
        names, else `other`); without it, the first 256 names seen are labels and the rest `other`."""
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.model_label: Callable[[str], str] = models or _FirstSeen(256)
        r = self.registry = registry or CollectorRegistry()
        self.requests = Counter("tokenyard_requests", "Requests served (HTTP route or gRPC method), by status code",
                                ["route", "code"], registry=r)
        self.errors = Counter("tokenyard_errors", "Requests that failed, by route and status code",
                              ["route", "code"], registry=r)
        self.latency = Histogram("tokenyard_request_duration_seconds", "Time to serve a request (a stream: to its "
                                 "end)", ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.inflight = Gauge("tokenyard_inflight_requests", "Requests being served now", ["route"], registry=r)
        self.ttft = _ModelFirst(self, Histogram("tokenyard_time_to_first_token_seconds",
                                                "Time from request to the first token", ["model"],
                                                buckets=TTFT_BUCKETS, registry=r))
        self.tokens = Counter("tokenyard_tokens", "Tokens by model and direction (input/output)",
                              ["model", "direction"], registry=r)
        self.cost = Counter("tokenyard_cost_usd", "Cost of the requests served, in US dollars", ["model"], registry=r)
        self.stream_errors = _ModelFirst(self, Counter("tokenyard_stream_errors", "Streams that ended with an "
                                                       "error after their first byte, by error code",
                                                       ["model", "code"], registry=r))
        self.attempts = Counter("tokenyard_upstream_attempts", "Upstream attempts by deployment, kind "
                                "(first/retry/fallback/hedge) and outcome", ["deployment", "kind", "outcome"],
                                registry=r)
        self.retries = Counter("tokenyard_retries", "Retried upstream attempts", ["deployment"], registry=r)
        self.fallbacks = Counter("tokenyard_fallbacks", "Attempts on a fallback model group", ["deployment"],
                                 registry=r)
        self.hedges = Counter("tokenyard_hedges", "Hedge attempts started", ["deployment"], registry=r)
        r.register(_LoopCollector())

    def rpc_started(self, method: str) -> None:
        self.inflight.labels(method).inc()

    def rpc_finished(self, method: str, code: str, seconds: float) -> None:
        self.inflight.labels(method).dec()
        self.requests.labels(method, code).inc()
        self.latency.labels(method).observe(seconds)
        if code != "OK":
            self.errors.labels(method, code).inc()

    def model_usage(self, model: str, input_tokens: int, output_tokens: int, cost_micros: int) -> None:
        model = self.model_label(model)
        if input_tokens:
            self.tokens.labels(model, "input").inc(input_tokens)
        if output_tokens:
            self.tokens.labels(model, "output").inc(output_tokens)
        if cost_micros:
            self.cost.labels(model).inc(cost_micros / 1_000_000)

    def watch_breakers(self, states: Callable[[], Mapping[str, str]]) -> None:
        """Exposes `tokenyard_breaker_state` per deployment (0 closed, 1 half-open, 2 open), read at scrape."""
        self.registry.register(_BreakerCollector(states))

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class _ModelFirst:
    """A labelled metric whose first label is a model name, passed through `Metrics.model_label` so a
    client-chosen name never becomes a series of its own."""

    __slots__ = ("_metrics", "_inner")

    def __init__(self, metrics: Metrics, inner) -> None:
        self._metrics, self._inner = metrics, inner

    def labels(self, model: str, *rest: str):
        return self._inner.labels(self._metrics.model_label(model), *rest)


class _FirstSeen:
    """The fallback label set: the first `limit` names seen, then `other` (bounded even unconfigured)."""

    def __init__(self, limit: int) -> None:
        self._limit, self._seen = limit, set()

    def __call__(self, model: str) -> str:
        if model in self._seen:
            return model
        if len(self._seen) < self._limit:
            self._seen.add(model)
            return model
        return "other"


class _BreakerCollector:
    def __init__(self, states: Callable[[], Mapping[str, str]]) -> None:
        self._states = states

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily("tokenyard_breaker_state", "Circuit breaker per deployment: 0 closed, "
                                   "1 half-open, 2 open", labels=["deployment"])
        for name, state in sorted(self._states().items()):
            family.add_metric([name], BREAKER_STATES.get(state, 0))
        yield family


class _LoopCollector:
    """`tokenyard_asyncio_tasks` and `tokenyard_open_fds`, read at scrape (on the event loop): a task or
    socket leaked per request shows as growth here (the chaos and soak suites watch both)."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        try:
            tasks = len(asyncio.all_tasks())
        except RuntimeError:  # scraped off the loop (a test's registry): nothing to count
            tasks = 0
        yield GaugeMetricFamily("tokenyard_asyncio_tasks", "asyncio tasks alive in this process", value=tasks)
        try:
            fds = len(os.listdir("/proc/self/fd"))
        except OSError:
            return
        yield GaugeMetricFamily("tokenyard_open_fds", "File descriptors open in this process", value=fds)


def metrics_handler(metrics: Metrics):
    """The aiohttp handler of `GET /metrics`."""
    from aiohttp import web
    from prometheus_client import CONTENT_TYPE_LATEST

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handler


def metrics_port(service: str, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    for name in (f"TOKENYARD_{service.upper()}_METRICS_PORT", "TOKENYARD_METRICS_PORT"):
        raw = environ.get(name)
        if raw:
            try:
                return int(raw)
            except ValueError:
                raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    return 0


class MetricsServer:
    """`GET /metrics` on its own port, for the gRPC services; on the event loop, no thread."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self._metrics, self._host, self._port = metrics, host, port
        self._runner: web.AppRunner | None = None
        self.port = 0

    @classmethod
    def from_env(cls, service: str, metrics: Metrics, environ: Mapping[str, str] | None = None) -> "MetricsServer | None":
        environ = os.environ if environ is None else environ
        port = metrics_port(service, environ)
        if not port:
            return None
        host = environ.get("TOKENYARD_METRICS_HOST") or environ.get("TOKENYARD_GRPC_HOST") or "127.0.0.1"
        return cls(metrics, host, port)

    async def start(self) -> int:
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/metrics", metrics_handler(self._metrics))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # aiohttp has no public accessor for it
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
