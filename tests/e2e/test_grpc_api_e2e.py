"""The gRPC APIs of the running mesh, as an internal client of the user's company calls them: the master
key in `authorization` metadata opens them, nothing else does; and a mesh started with certificates
serves the OpenAI SDK with every hop between its processes on mutual TLS."""
from __future__ import annotations

import time

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from openai import OpenAI

from services.launcher.mesh import Mesh
from tests.e2e.conftest import MASTER_KEY, usage_record
from tests.fakes.certs import make_pki
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc
from tokenyard.router.v1 import router_pb2, router_pb2_grpc
from tokenyard.runtime.v1 import runtime_pb2, runtime_pb2_grpc


def calls(mesh: Mesh):
    """One read-only call per gRPC service: (name, port, call(channel, metadata))."""
    return [
        ("router", mesh.router_port, lambda ch, md: router_pb2_grpc.RouterServiceStub(ch).ListModels(
            router_pb2.ListModelsRequest(), metadata=md, timeout=10)),
        ("meter", mesh.meter_port, lambda ch, md: meter_pb2_grpc.MeterServiceStub(ch).GetUsage(
            meter_pb2.GetUsageRequest(period=meter_pb2.PERIOD_DAY), metadata=md, timeout=10)),
        ("runtime", mesh.runtime_port, lambda ch, md: runtime_pb2_grpc.RuntimeServiceStub(ch).ListAgents(
            runtime_pb2.ListAgentsRequest(), metadata=md, timeout=10)),
    ]


def test_every_grpc_api_needs_the_master_key(mesh):
    edge = f"http://127.0.0.1:{mesh.http_port}"
    virtual = httpx.post(f"{edge}/api/v1/keys", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                         json={"workspace": "ws-grpc", "name": "app"}, timeout=10).json()["key"]
    for name, port, call in calls(mesh):
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            for metadata in ((), (("authorization", f"Bearer {virtual}"),), (("authorization", MASTER_KEY),)):
                with pytest.raises(grpc.RpcError) as refused:
                    call(ch, metadata)
                assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, (name, metadata)
                assert "TOKENYARD_MASTER_KEY" in refused.value.details()
            call(ch, (("authorization", f"Bearer {MASTER_KEY}"),))  # served
            health = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
    with grpc.insecure_channel(f"127.0.0.1:{mesh.router_port}") as ch:
        models = router_pb2_grpc.RouterServiceStub(ch).ListModels(
            router_pb2.ListModelsRequest(), metadata=(("authorization", f"Bearer {MASTER_KEY}"),), timeout=10)
    assert "fake-echo" in {m.id for m in models.models}


@pytest.fixture(scope="module")
def tls_mesh(tmp_path_factory, redis_server):
    root = tmp_path_factory.mktemp("tls-mesh")
    pki = make_pki(root / "pki")
    m = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER_KEY, "REDIS_URL": redis_server.url, **pki.env(client_auth=True)},
             data_dir=root / "data", log_dir=root / "logs")
    m.start()
    m.pki = pki
    yield m
    m.stop()


def test_a_mesh_on_mutual_tls_serves_and_meters_the_openai_sdk(tls_mesh):
    edge = f"http://127.0.0.1:{tls_mesh.http_port}"
    deadline = time.monotonic() + 20
    while (ready := httpx.get(f"{edge}/readyz", timeout=5)).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)  # the edge asks the router's gRPC health, over TLS
    assert ready.status_code == 200, ready.text
    with OpenAI(base_url=f"{edge}/v1", api_key=MASTER_KEY, max_retries=0, timeout=30) as client:
        stream = client.chat.completions.create(
            model="fake-echo", messages=[{"role": "user", "content": "over tls"}], stream=True,
            stream_options={"include_usage": True}, extra_headers={"x-request-id": "req-tls-e2e"})
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = [c.usage for c in chunks if c.usage][0]
    assert text and usage.completion_tokens > 0
    record = usage_record(tls_mesh, "req-tls-e2e")  # router -> meter, also over mutual TLS
    assert int(record["completion_tokens"]) == usage.completion_tokens
    for port in (tls_mesh.router_port, tls_mesh.meter_port, tls_mesh.runtime_port):
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:  # plaintext is not spoken at all
            with pytest.raises(grpc.RpcError) as refused:
                health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
