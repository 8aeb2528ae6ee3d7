"""Prometheus endpoints of the running mesh: the edge's `/metrics` and the gRPC services' metrics ports
move by exactly one request's worth after one request; `/readyz` and gRPC health say ready."""
from __future__ import annotations

import secrets
import time

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families

from services.common.redis_server import free_port
from services.launcher.mesh import Mesh
from tests.e2e.conftest import config_with_fake_family

MASTER_KEY = "ty-test-" + secrets.token_hex(16)
CHAT = "/v1/chat/completions"
ROUTER_CHAT = "/tokenyard.router.v1.RouterService/Chat"
RECORD_USAGE = "/tokenyard.meter.v1.MeterService/RecordUsage"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory, redis_server):
    root = tmp_path_factory.mktemp("metrics")
    ports = {name: free_port() for name in ("edge", "router", "meter", "runtime")}
    m = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER_KEY, "REDIS_URL": redis_server.url,
                  "TOKENYARD_CONFIG": config_with_fake_family(root / "tokenyard.yaml"),
                  **{f"TOKENYARD_{n.upper()}_METRICS_PORT": str(p) for n, p in ports.items()}},
             data_dir=root / "data", log_dir=root / "logs")
    m.start()
    m.metrics_ports = ports
    yield m
    m.stop()


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample as {(name, sorted labels): value}."""
    text = httpx.get(url, timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def delta(before: dict, after: dict, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_counters_move_by_exactly_one_request(mesh):
    edge_url = f"http://127.0.0.1:{mesh.metrics_ports['edge']}/metrics"
    router_url = f"http://127.0.0.1:{mesh.metrics_ports['router']}/metrics"
    meter_url = f"http://127.0.0.1:{mesh.metrics_ports['meter']}/metrics"
    edge0, router0, meter0 = scrape(edge_url), scrape(router_url), scrape(meter_url)

    with OpenAI(base_url=f"http://127.0.0.1:{mesh.http_port}/v1", api_key=MASTER_KEY, max_retries=0) as client:
        stream = client.chat.completions.create(model="fake-echo", messages=[{"role": "user", "content": "a b c"}],
                                                stream=True, stream_options={"include_usage": True})
        usage = [c.usage for c in stream if c.usage][0]

    edge1, router1 = scrape(edge_url), scrape(router_url)
    assert delta(edge0, edge1, "tokenyard_requests_total", route=CHAT, code="200") == 1
    assert delta(edge0, edge1, "tokenyard_request_duration_seconds_count", route=CHAT) == 1
    assert delta(edge0, edge1, "tokenyard_time_to_first_token_seconds_count", model="fake-echo") == 1
    assert delta(edge0, edge1, "tokenyard_tokens_total", model="fake-echo", direction="input") == usage.prompt_tokens
    assert delta(edge0, edge1, "tokenyard_tokens_total", model="fake-echo", direction="output") == 3
    assert edge1[("tokenyard_inflight_requests", (("route", CHAT),))] == 0
    assert not any(k[0] == "tokenyard_errors_total" and delta(edge0, edge1, k[0], **dict(k[1])) for k in edge1)

    assert delta(router0, router1, "tokenyard_requests_total", route=ROUTER_CHAT, code="OK") == 1
    assert delta(router0, router1, "tokenyard_upstream_attempts_total", deployment="fake", kind="first",
                 outcome="ok") == 1
    assert delta(router0, router1, "tokenyard_tokens_total", model="fake-echo", direction="output") == 3
    assert delta(router0, router1, "tokenyard_retries_total", deployment="fake") == 0

    # The router reports usage in the background: the meter counts one RecordUsage once it lands.
    for _ in range(100):
        meter1 = scrape(meter_url)
        if delta(meter0, meter1, "tokenyard_requests_total", route=RECORD_USAGE, code="OK") >= 1:
            break
        time.sleep(0.05)
    assert delta(meter0, meter1, "tokenyard_requests_total", route=RECORD_USAGE, code="OK") == 1


def test_an_upstream_failure_counts_as_an_error_by_code(mesh):
    edge_url = f"http://127.0.0.1:{mesh.metrics_ports['edge']}/metrics"
    before = scrape(edge_url)
    resp = httpx.post(f"http://127.0.0.1:{mesh.http_port}/v1/chat/completions", timeout=10,
                      headers={"Authorization": f"Bearer {MASTER_KEY}"},
                      json={"model": "fake-error-400", "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code == 400
    after = scrape(edge_url)
    assert delta(before, after, "tokenyard_requests_total", route=CHAT, code="400") == 1
    assert delta(before, after, "tokenyard_errors_total", route=CHAT, code="400") == 1


def test_readiness_and_grpc_health(mesh):
    ready = httpx.get(f"http://127.0.0.1:{mesh.http_port}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json()["checks"] == {"router": "ok", "redis": "ok", "meter": "ok",
                                                                   "runtime": "ok"}
    assert httpx.get(f"http://127.0.0.1:{mesh.http_port}/healthz", timeout=5).status_code == 200
    for port in (mesh.router_port, mesh.meter_port, mesh.runtime_port):
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_a_call_refused_for_want_of_the_key_is_counted(mesh):
    """An operator sees misconfigured internal clients in the service's own metrics."""
    from tokenyard.router.v1 import router_pb2, router_pb2_grpc

    router_url = f"http://127.0.0.1:{mesh.metrics_ports['router']}/metrics"
    before = scrape(router_url)
    with grpc.insecure_channel(f"127.0.0.1:{mesh.router_port}") as channel:
        with pytest.raises(grpc.RpcError) as refused:
            router_pb2_grpc.RouterServiceStub(channel).Chat(router_pb2.ChatRequest(model="fake-echo"), timeout=5).next()
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    after = scrape(router_url)
    assert delta(before, after, "tokenyard_errors_total", route=ROUTER_CHAT, code="UNAUTHENTICATED") == 1
