"""OpenTelemetry tracing for one service process, configured by the standard OTEL_* variables.

Off unless an OTLP endpoint is configured (or `OTEL_TRACES_EXPORTER=console`): then every service gets a
no-op tracer, no gRPC interceptors and no HTTP trace hooks, so tracing off costs nothing on the hot path.
On: spans go through a BatchSpanProcessor (OTEL_BSP_* tune it) to the OTLP/gRPC exporter (which reads
OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS, _INSECURE...); the sampler follows OTEL_TRACES_SAMPLER/_ARG and
defaults to parentbased_always_on, so a client's `traceparent` decides whether its request is sampled.

The provider is owned by a `Tracing` object handed to whoever needs it (no global tracer provider), and
context crosses processes as W3C `traceparent`/`tracestate` headers and gRPC metadata.
"""
from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING

import grpc
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:  # aiohttp is imported by the HTTP hooks that use it: the meter speaks no HTTP at all
    import aiohttp

PROPAGATOR = TraceContextTextMapPropagator()
"""W3C Trace Context: stateless, so one instance serves every caller."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def exporters_from_env(environ: Mapping[str, str]) -> list[str]:
    """The span exporters the environment asks for; [] means tracing is off."""
    if _truthy(environ.get("OTEL_SDK_DISABLED")):
        return []
    names = [n.strip().lower() for n in (environ.get("OTEL_TRACES_EXPORTER") or "otlp").split(",") if n.strip()]
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    # "otlp" without an endpoint would export to localhost:4317 and fail every few seconds: treat it as off.
    return [n for n in names if n == "console" or (n == "otlp" and endpoint)]


def _batch_defaults(environ: Mapping[str, str]) -> dict[str, int]:
    """Bigger export batches than the SDK's 512 (fewer, larger exports from the processor's thread, which
    holds the GIL while it encodes) unless the user tunes the queue or batch size through OTEL_BSP_*."""
    if environ.get("OTEL_BSP_MAX_QUEUE_SIZE") or environ.get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"):
        return {}
    return {"max_queue_size": 8192, "max_export_batch_size": 2048}


class Tracing:
    """One process's tracer, propagation hooks and exporter lifecycle."""

    def __init__(self, provider=None, instrumentation: str = "tokenyard") -> None:
        self._provider = provider
        self.enabled = provider is not None
        self.tracer: trace.Tracer = provider.get_tracer(instrumentation) if provider else trace.NoOpTracer()

    @classmethod
    def from_env(cls, service: str, environ: Mapping[str, str] | None = None) -> "Tracing":
        """`service` names the process (`tokenyard-<service>`) unless OTEL_SERVICE_NAME is set."""
        environ = os.environ if environ is None else environ
        exporters = exporters_from_env(environ)
        if not exporters:
            return cls()
        # Imported only when on: the SDK and gRPC exporter cost startup time a disabled process need not pay.
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

        batching = _batch_defaults(environ)
        name = environ.get("OTEL_SERVICE_NAME") or f"tokenyard-{service}"
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        for exporter in exporters:
            if exporter == "otlp":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
                endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint), **batching))
            else:
                provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(), **batching))
        return cls(provider, f"tokenyard.{service}")

    def server_interceptors(self, metrics=None) -> list:
        """gRPC server interceptors: a span per RPC (when on) and RPC metrics (when `metrics` is given)."""
        from services.common.grpc_observe import ObservingServerInterceptor

        tracer = self.tracer if self.enabled else None
        return [ObservingServerInterceptor(tracer, metrics)] if tracer is not None or metrics is not None else []

    def client_interceptors(self) -> list:
        """gRPC client interceptors that open a client span and send `traceparent`; none when off."""
        if not self.enabled:
            return []
        from services.common.grpc_observe import client_interceptors

        return client_interceptors(self.tracer)

    def wrap_channel(self, channel: grpc.aio.Channel) -> grpc.aio.Channel:
        """When on, the channel's calls open a CLIENT span and carry `traceparent` in their metadata
        (cheaper than grpc client interceptors). Off: the channel itself, nothing added."""
        if not self.enabled:
            return channel
        from services.common.grpc_observe import TracedChannel

        return TracedChannel(channel, self.tracer)

    def http_trace_configs(self) -> list[aiohttp.TraceConfig]:
        """aiohttp hooks for outgoing HTTP (upstream LLMs): a client span and `traceparent`; none when off."""
        return [http_client_trace_config(self.tracer)] if self.enabled else []

    def shutdown(self) -> None:
        """Flushes what is buffered (blocking: call it off the event loop, e.g. asyncio.to_thread)."""
        if self._provider is not None:
            self._provider.shutdown()


def extract(carrier: Mapping[str, str]) -> Context:
    """The remote parent a request carries (W3C headers or gRPC metadata); an empty context when none."""
    return PROPAGATOR.extract(carrier)


def inject(carrier: dict, span: trace.Span) -> dict:
    PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) in hex of the current span, for log lines; None outside any trace."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def _end_once(span) -> None:
    if span.is_recording():
        span.end()


def end_http_span(response) -> None:
    """The upstream's body ended (read to its end, or closed): ends the request's span; no-op untraced."""
    span = getattr(response, "_tokenyard_span", None)
    if span is not None:
        response._tokenyard_span = None
        _end_once(span)


def http_client_trace_config(tracer: trace.Tracer) -> aiohttp.TraceConfig:
    """A span around each outgoing request, and its `traceparent` header. The span ends when the caller
    says the body ended (`end_http_span`), not when the headers arrive: a 1.5 s stream whose headers
    came after 7 ms is a 1.5 s call. A response nobody reads to its end still ends its span when the
    response is garbage-collected, so no span is lost.

    The URL is recorded without query or credentials: upstream keys never reach the trace backend.
    """
    import aiohttp

    async def on_start(_session, ctx, params: aiohttp.TraceRequestStartParams) -> None:
        url = params.url.with_user(None).with_query(None)
        ctx.span = tracer.start_span(params.method, kind=trace.SpanKind.CLIENT, attributes={
            "http.request.method": params.method, "url.full": str(url), "server.address": url.host or "",
            "server.port": url.port or 0})
        inject(params.headers, ctx.span)

    async def on_end(_session, ctx, params: aiohttp.TraceRequestEndParams) -> None:
        status = params.response.status
        ctx.span.set_attribute("http.response.status_code", status)
        if status >= 400:
            ctx.span.set_status(trace.StatusCode.ERROR, f"HTTP {status}")
        try:
            params.response._tokenyard_span = ctx.span
            weakref.finalize(params.response, _end_once, ctx.span)
        except (AttributeError, TypeError):  # a response type that takes no attributes: end at the headers
            ctx.span.end()

    async def on_exception(_session, ctx, params: aiohttp.TraceRequestExceptionParams) -> None:
        ctx.span.set_attribute("error.type", type(params.exception).__name__)
        ctx.span.set_status(trace.StatusCode.ERROR, type(params.exception).__name__)
        ctx.span.end()

    config = aiohttp.TraceConfig(trace_config_ctx_factory=SimpleNamespace)
    config.on_request_start.append(on_start)
    config.on_request_end.append(on_end)
    config.on_request_exception.append(on_exception)
    return config
