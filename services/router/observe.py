"""What the dispatcher shows operators about each upstream attempt: one span per attempt, with the
OpenTelemetry GenAI conventions (gen_ai.*) and the routing facts (deployment, attempt number, kind:
first/retry/fallback/hedge, breaker state, outcome), and the routing metrics (attempts, retries,
fallbacks, hedges, time to first token, tokens).

The span is current while the attempt opens its upstream stream, so the upstream HTTP request's span
(and its `traceparent`) nests under it. With tracing off there is no tracer and no span: the cost is a
few counter increments per attempt.
"""
from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opentelemetry import trace

from services.common.metrics import Metrics

if TYPE_CHECKING:
    from services.router.coalesce import StreamState
    from services.router.dispatcher import Lease, Trace
    from services.router.plan import Group
    from services.router.providers.base import UpstreamError
    from tokenyard.common.v1 import common_pb2


def attempt_kind(hedge: bool, attempt: int, fallback: bool) -> str:
    if hedge:
        return "hedge"
    if attempt <= 1:
        return "first"
    return "fallback" if fallback else "retry"



_OWN_HOSTS = {"openai": "api.openai.com", "anthropic": "api.anthropic.com"}


def provider_name(dep) -> str:
    """`gen_ai.provider.name`: the vendor the operator named; for a deployment that named none, its wire
    format's vendor only when it really is that vendor's API (a llama.cpp or vLLM server speaking the
    OpenAI format is not OpenAI), else `<format>_compatible`."""
    if dep.declared_vendor:
        return dep.declared_vendor
    own = _OWN_HOSTS.get(dep.provider)
    if own is None or dep.provider == "fake":
        return dep.provider
    host = urlsplit(dep.base_url).hostname or ""
    return dep.provider if host == own or host.endswith("." + own) else f"{dep.provider}_compatible"


class AttemptObserver:
    def __init__(self, tracer: trace.Tracer | None = None, metrics: Metrics | None = None) -> None:
        self._tracer = tracer
        self.metrics = metrics or Metrics()

    def started(self, lease: "Lease", group: "Group", trace_: "Trace", breaker_state: str) -> None:
        kind = lease.kind = attempt_kind(lease.hedge, trace_.attempts, group.fallback)
        name = lease.target.name
        if kind == "retry":
            self.metrics.retries.labels(name).inc()
        elif kind == "fallback":
            self.metrics.fallbacks.labels(name).inc()
        elif kind == "hedge":
            self.metrics.hedges.labels(name).inc()
        if self._tracer is None:
            return
        dep, model = lease.target.deployment, lease.target.upstream_model
        lease.span = self._tracer.start_span(f"{trace_.operation} {model}", kind=trace.SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": trace_.operation, "gen_ai.provider.name": provider_name(dep),
            "gen_ai.request.model": model, "tokenyard.request_id": trace_.request_id,
            "tokenyard.deployment": name, "tokenyard.provider": dep.provider, "tokenyard.model_group": group.model,
            "tokenyard.attempt": trace_.attempts, "tokenyard.attempt.kind": kind,
            "tokenyard.attempt.retry": kind == "retry", "tokenyard.attempt.fallback": kind == "fallback",
            "tokenyard.attempt.hedge": kind == "hedge", "tokenyard.breaker.state": breaker_state})

    def current(self, lease: "Lease"):
        """Makes the attempt's span current (so the upstream HTTP span is its child)."""
        return trace.use_span(lease.span, end_on_exit=False) if lease.span is not None else contextlib.nullcontext()

    def first_token(self, lease: "Lease") -> None:
        if lease.ttft is None:
            return
        self.metrics.ttft.labels(lease.model or lease.target.upstream_model).observe(lease.ttft)
        if lease.span is not None:
            lease.span.set_attribute("gen_ai.server.time_to_first_token", lease.ttft)
            lease.span.add_event("gen_ai.first_token", timestamp=time.time_ns())

    def completed(self, lease: "Lease", usage: "common_pb2.Usage | None", state: "StreamState") -> None:
        """The winning chat attempt's stream ended: what the model answered (before `ended`)."""
        if usage is not None:
            self.metrics.model_usage(lease.model or lease.target.upstream_model, usage.prompt_tokens,
                                     usage.completion_tokens, 0)
        span = lease.span
        if span is None:
            return
        span.set_attribute("gen_ai.response.model", state.model or lease.target.upstream_model)
        if state.id:
            span.set_attribute("gen_ai.response.id", state.id)
        reasons = [r for _, r in sorted(state.finish_reasons.items()) if r]
        if reasons:
            span.set_attribute("gen_ai.response.finish_reasons", reasons)
        if usage is not None:
            span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
            # The upstream reported none: the router counted them (tokens.py), and the trace says so.
            span.set_attribute("tokenyard.usage.estimated", usage.estimated)

    def ended(self, lease: "Lease", outcome: str, error: "UpstreamError | None" = None) -> None:
        """The attempt is over (ok, error, cancelled, hedge_lost, interrupted); only the first call counts."""
        if lease.outcome:
            return
        lease.outcome = outcome
        self.metrics.attempts.labels(lease.target.name, lease.kind, outcome).inc()
        span = lease.span
        if span is None:
            return
        span.set_attribute("tokenyard.attempt.outcome", outcome)
        if error is not None:
            span.set_attribute("error.type", error.kind or str(error.status or "error"))
            if error.status:
                span.set_attribute("http.response.status_code", error.status)
            span.set_status(trace.StatusCode.ERROR, error.kind or "upstream_error")
        span.end()
