"""Tracing configuration from the standard OTEL_* variables, and what "off" means: nothing installed."""
from __future__ import annotations

from opentelemetry import trace

from services.common.metrics import Metrics, metrics_port
from services.common.tracing import Tracing, exporters_from_env

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"}


def test_off_without_an_endpoint_installs_nothing():
    tracing = Tracing.from_env("edge", {})
    assert not tracing.enabled
    assert isinstance(tracing.tracer, trace.NoOpTracer)
    assert tracing.server_interceptors() == [] and tracing.client_interceptors() == []
    assert tracing.http_trace_configs() == []


def test_metrics_alone_install_only_the_rpc_metrics_interceptor():
    interceptors = Tracing.from_env("meter", {}).server_interceptors(Metrics())
    assert len(interceptors) == 1


def test_the_standard_switches_turn_it_off():
    assert exporters_from_env(ENDPOINT) == ["otlp"]
    assert exporters_from_env({**ENDPOINT, "OTEL_SDK_DISABLED": "true"}) == []
    assert exporters_from_env({**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}) == []
    assert exporters_from_env({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4317"}) == ["otlp"]
    assert exporters_from_env({"OTEL_TRACES_EXPORTER": "console"}) == ["console"]


def test_on_with_an_endpoint_names_the_service_and_installs_hooks():
    tracing = Tracing.from_env("router", ENDPOINT)
    try:
        assert tracing.enabled
        assert len(tracing.client_interceptors()) == 2 and len(tracing.server_interceptors()) == 1
        assert len(tracing.http_trace_configs()) == 1
        span = tracing.tracer.start_span("x")
        assert span.resource.attributes["service.name"] == "tokenyard-router"  # not ended: nothing to export
    finally:
        tracing.shutdown()


def test_otel_service_name_and_sampler_are_honoured(monkeypatch):
    # The SDK's sampler reads the process environment, as every OpenTelemetry SDK does.
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    tracing = Tracing.from_env("router", {**ENDPOINT, "OTEL_SERVICE_NAME": "gw-router"})
    try:
        span = tracing.tracer.start_span("x")
        assert not span.is_recording()
    finally:
        tracing.shutdown()
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    tracing = Tracing.from_env("router", {**ENDPOINT, "OTEL_SERVICE_NAME": "gw-router"})
    try:
        span = tracing.tracer.start_span("x")
        assert span.is_recording() and span.resource.attributes["service.name"] == "gw-router"
    finally:
        tracing.shutdown()


def test_metrics_port_per_service_then_shared_then_off():
    assert metrics_port("router", {}) == 0
    assert metrics_port("router", {"TOKENYARD_METRICS_PORT": "9464"}) == 9464
    assert metrics_port("router", {"TOKENYARD_METRICS_PORT": "9464", "TOKENYARD_ROUTER_METRICS_PORT": "9465"}) == 9465


def test_breaker_states_are_read_at_scrape_time():
    metrics, states = Metrics(), {"a/m": "closed"}
    metrics.watch_breakers(lambda: states)
    states["b/m"] = "open"
    text = metrics.render().decode()
    assert 'tokenyard_breaker_state{deployment="a/m"} 0.0' in text
    assert 'tokenyard_breaker_state{deployment="b/m"} 2.0' in text
