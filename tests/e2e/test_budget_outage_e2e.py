"""The meter is down: every budget scope fails closed at the edge, through the SDK a tenant uses; a key
with no budget anywhere is still served (its usage is recorded once the meter is back)."""
from __future__ import annotations

import secrets

import grpc
import httpx
import openai
import pytest

from services.common.redis_server import LocalRedis
from services.launcher.mesh import Mesh
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

pytestmark = pytest.mark.e2e
MASTER = "ty-outage-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    """A mesh of its own whose meter is stopped once the budgets are set."""
    root = tmp_path_factory.mktemp("outage")
    redis = LocalRedis(root / "redis").start()
    cfg = root / "tokenyard.yaml"
    cfg.write_text('deployments:\n  - name: fake\n    provider: fake\n    models: ["fake-*"]\n')
    mesh = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER, "TOKENYARD_CONFIG": str(cfg), "REDIS_URL": redis.url,
                     "TOKENYARD_USAGE_SPOOL": str(root / "spool")}, log_dir=root / "logs")
    mesh.start()
    api = httpx.Client(base_url=f"http://127.0.0.1:{mesh.http_port}", timeout=30,
                       headers={"Authorization": f"Bearer {MASTER}"})
    keys = {}
    for ws in ("ws-out-budgeted", "ws-out-agent", "ws-out-free"):
        keys[ws] = api.post("/api/v1/keys", json={"workspace": ws}).json()["key"]
    assert api.post("/api/v1/agents", json={"id": "out-agent", "model": "fake-echo",
                                            "workspace": "ws-out-agent"}).status_code == 201
    # Budgets straight through the meter's gRPC API (as an internal client would set them).
    with grpc.insecure_channel(f"127.0.0.1:{mesh.meter_port}") as channel:
        meter = meter_pb2_grpc.MeterServiceStub(channel)
        for kind, sid, ws in ((meter_pb2.SUBJECT_KIND_WORKSPACE, "ws-out-budgeted", "ws-out-budgeted"),
                              (meter_pb2.SUBJECT_KIND_AGENT, "out-agent", "ws-out-agent")):
            meter.SetBudget(meter_pb2.SetBudgetRequest(budget=meter_pb2.Budget(
                kind=kind, id=sid, workspace=ws, period=meter_pb2.PERIOD_MONTH, limit_micros=100_000_000)),
                metadata=[("authorization", f"Bearer {MASTER}")], timeout=10)
    mesh.stop_service("meter")
    yield mesh, keys
    api.close()
    mesh.stop()
    redis.stop()


def _client(mesh: Mesh, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{mesh.http_port}/v1", api_key=key, max_retries=0, timeout=30)


def _ask(mesh: Mesh, key: str, model: str = "fake-echo") -> str:
    with _client(mesh, key) as c:
        resp = c.chat.completions.create(model=model, messages=[{"role": "user", "content": "still there"}])
    return resp.choices[0].message.content


def test_a_workspace_budget_refuses_while_the_meter_is_down(outage):
    mesh, keys = outage
    with pytest.raises(openai.APIStatusError) as err:
        _ask(mesh, keys["ws-out-budgeted"])
    assert err.value.status_code == 503 and err.value.body["code"] == "budget_unavailable"


def test_an_agent_budget_refuses_while_the_meter_is_down(outage):
    mesh, keys = outage
    with pytest.raises(openai.APIStatusError) as err:
        _ask(mesh, keys["ws-out-agent"], model="agent/out-agent")
    assert err.value.status_code == 503


def test_a_caller_without_any_budget_is_served(outage):
    mesh, keys = outage
    assert _ask(mesh, keys["ws-out-free"]) == "still there"
