"""gRPC interceptors for traces and RPC metrics, hand-made for grpc.aio.

Why not opentelemetry-instrumentation-grpc: its aio interceptors are global-provider based and beta; ours
take the tracer by injection, keep server-streaming handlers as async generators (so the span stays
current across every `yield` and ends when the stream does), and skip the health and reflection services,
whose probes would otherwise flood the trace backend. Installed only when tracing or metrics are on.
"""
from __future__ import annotations

import asyncio
import inspect
import time

import grpc
from opentelemetry import trace

from services.common.tracing import extract, inject

_UNTRACED = ("/grpc.health.", "/grpc.reflection.")


def _untraced(method: str | bytes) -> bool:
    return (method.decode() if isinstance(method, bytes) else method).startswith(_UNTRACED)


def _names(method: str) -> tuple[str, str, str]:
    """'/pkg.Service/Method' -> (span name 'pkg.Service/Method', service, method)."""
    service, _, name = method.lstrip("/").partition("/")
    return f"{service}/{name}", service, name


def _status_code(context: grpc.aio.ServicerContext, exc: BaseException | None) -> grpc.StatusCode:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if exc is None:
        return grpc.StatusCode.OK
    if isinstance(exc, (GeneratorExit, asyncio.CancelledError)):
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN


class _RpcObservation:
    """One RPC: its span (or none) and its metrics, ended exactly once."""

    __slots__ = ("span", "metrics", "method", "t0")

    def __init__(self, tracer, metrics, method: str, metadata) -> None:
        self.metrics, self.method, self.t0 = metrics, method, time.perf_counter()
        self.span = None
        if tracer is not None:
            name, service, rpc = _names(method)
            parent = extract({k: v for k, v in (metadata or ()) if isinstance(v, str)})
            self.span = tracer.start_span(name, context=parent, kind=trace.SpanKind.SERVER, attributes={
                "rpc.system": "grpc", "rpc.service": service, "rpc.method": rpc})
        if metrics is not None:
            metrics.rpc_started(method)

    def end(self, context: grpc.aio.ServicerContext, exc: BaseException | None) -> None:
        code = _status_code(context, exc)
        if self.span is not None:
            self.span.set_attribute("rpc.grpc.status_code", code.value[0])
            if code is not grpc.StatusCode.OK:
                self.span.set_status(trace.StatusCode.ERROR, code.name)
            self.span.end()
        if self.metrics is not None:
            self.metrics.rpc_finished(self.method, code.name, time.perf_counter() - self.t0)


class ObservingServerInterceptor(grpc.aio.ServerInterceptor):
    """A SERVER span per RPC (parented to the caller's `traceparent`), current while the handler runs."""

    def __init__(self, tracer: trace.Tracer | None, metrics=None) -> None:
        self._tracer = tracer
        self._metrics = metrics

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        if handler is None or details.method.startswith(_UNTRACED):
            return handler
        if handler.unary_unary is not None:
            return handler._replace(unary_unary=self._unary(handler.unary_unary, details))
        if handler.unary_stream is not None:
            return handler._replace(unary_stream=self._stream(handler.unary_stream, details))
        return handler

    def _unary(self, inner, details):
        tracer, metrics = self._tracer, self._metrics

        async def behavior(request, context):
            obs = _RpcObservation(tracer, metrics, details.method, details.invocation_metadata)
            try:
                with trace.use_span(obs.span or trace.INVALID_SPAN, end_on_exit=False):
                    result = await inner(request, context)
            except BaseException as exc:
                obs.end(context, exc)
                raise
            obs.end(context, None)
            return result

        return behavior

    def _stream(self, inner, details):
        tracer, metrics = self._tracer, self._metrics

        async def behavior(request, context):
            obs = _RpcObservation(tracer, metrics, details.method, details.invocation_metadata)
            try:
                with trace.use_span(obs.span or trace.INVALID_SPAN, end_on_exit=False):
                    out = inner(request, context)
                    if inspect.isasyncgen(out):
                        async for message in out:
                            yield message
                    else:  # a handler that writes with context.write() and returns
                        await out
            except BaseException as exc:
                obs.end(context, exc)
                raise
            obs.end(context, None)

        return behavior


class _ClientSpan:
    """Starts a CLIENT span, sends its context as metadata, ends it when the call is done."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def _begin(self, details: grpc.aio.ClientCallDetails):
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        name, service, rpc = _names(method)
        span = self._tracer.start_span(name, kind=trace.SpanKind.CLIENT, attributes={
            "rpc.system": "grpc", "rpc.service": service, "rpc.method": rpc})
        metadata = grpc.aio.Metadata(*(tuple(details.metadata) if details.metadata else ()))
        for key, value in inject({}, span).items():
            metadata.add(key, value)
        return span, details._replace(metadata=metadata)

    @staticmethod
    def _finish_when_done(call, span: trace.Span) -> None:
        async def finish() -> None:
            code = await call.code()
            span.set_attribute("rpc.grpc.status_code", code.value[0])
            if code is not grpc.StatusCode.OK:
                span.set_status(trace.StatusCode.ERROR, code.name)
            span.end()

        call.add_done_callback(lambda _c: asyncio.ensure_future(finish()))


class _UnaryUnary(_ClientSpan, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, details, request):
        if _untraced(details.method):
            return await continuation(details, request)
        span, details = self._begin(details)
        try:
            call = await continuation(details, request)
        except BaseException:
            span.end()
            raise
        self._finish_when_done(call, span)
        return call


class _UnaryStream(_ClientSpan, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation, details, request):
        if _untraced(details.method):
            return await continuation(details, request)
        span, details = self._begin(details)
        try:
            call = await continuation(details, request)
        except BaseException:
            span.end()
            raise
        self._finish_when_done(call, span)
        return call


def client_interceptors(tracer: trace.Tracer) -> list:
    """The interceptor form of `TracedChannel` (for callers that must hand grpc a list of interceptors)."""
    return [_UnaryUnary(tracer), _UnaryStream(tracer)]


class _TracedMultiCallable:
    """A stub method: opens the CLIENT span and adds `traceparent` to the call's own `metadata=`.

    The call itself is grpc's plain one, not the intercepted path (which wraps every call in extra tasks
    and cost ~9% of a traced edge's CPU in the bench)."""

    __slots__ = ("_inner", "_tracer", "_name", "_attributes", "_untraced")

    def __init__(self, inner, tracer: trace.Tracer, method: str) -> None:
        self._inner, self._tracer = inner, tracer
        self._name, service, rpc = _names(method)
        self._attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": rpc}
        self._untraced = _untraced(method)

    def __call__(self, request, *args, metadata=None, **kwargs):
        if self._untraced:
            return self._inner(request, *args, metadata=metadata, **kwargs)
        span = self._tracer.start_span(self._name, kind=trace.SpanKind.CLIENT, attributes=self._attributes)
        carried = tuple(metadata) if metadata else ()
        carried += tuple(inject({}, span).items())
        try:
            call = self._inner(request, *args, metadata=carried, **kwargs)
        except BaseException:
            span.end()
            raise
        _ClientSpan._finish_when_done(call, span)
        return call


class TracedChannel:
    """A grpc.aio channel whose unary-unary and unary-stream calls are traced; the rest is the channel's."""

    def __init__(self, channel: grpc.aio.Channel, tracer: trace.Tracer) -> None:
        self._channel, self._tracer = channel, tracer

    def unary_unary(self, method: str, *args, **kwargs):
        return _TracedMultiCallable(self._channel.unary_unary(method, *args, **kwargs), self._tracer, method)

    def unary_stream(self, method: str, *args, **kwargs):
        return _TracedMultiCallable(self._channel.unary_stream(method, *args, **kwargs), self._tracer, method)

    def __getattr__(self, name: str):
        return getattr(self._channel, name)
