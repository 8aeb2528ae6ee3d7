"""Scoped keys for internal gRPC clients, checked per RPC, and the mesh's own service credential
(issue 16, item 6): a `usage:read` key reads usage and nothing else, a `chat` key chats but cannot register
upstreams or start processes on the runtime host, `admin` can; the service credential is not the master key."""
from __future__ import annotations

import grpc
import pytest

from services.common.internal_keys import mint, parse_internal_keys
from services.common.mesh_security import MeshSecurity, derive_service_key
from tests.fakes.agent_runtime import running_runtime
from tests.integration.test_grpc_security import meter, router
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc
from tokenyard.router.v1 import router_pb2, router_pb2_grpc
from tokenyard.runtime.v1 import runtime_pb2, runtime_pb2_grpc

MASTER = "ty-master-" + "m" * 24
USAGE_KEY, USAGE = mint("billing", ["usage:read"])
CHAT_KEY, CHAT = mint("support-bot", ["chat"])
ADMIN_KEY, ADMIN = mint("ops", ["admin"])
SECURITY = MeshSecurity(key=MASTER, service_key=derive_service_key(MASTER), internal_keys=(USAGE, CHAT, ADMIN))


def md(key: str):
    return (("authorization", f"Bearer {key}"),)


async def _code(call) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as err:
        return err.code()
    return grpc.StatusCode.OK


async def test_meter_rpcs_follow_the_keys_scopes(redis_server, redis_client):
    async with meter(redis_server.url, SECURITY) as addr, grpc.aio.insecure_channel(addr) as ch:
        stub = meter_pb2_grpc.MeterServiceStub(ch)
        read = meter_pb2.GetUsageRequest(period=meter_pb2.PERIOD_DAY)
        write = meter_pb2.RecordUsageRequest(records=[meter_pb2.UsageRecord(request_id="r-scoped", model="m")])
        assert await _code(stub.GetUsage(read, metadata=md(USAGE_KEY), timeout=5)) == grpc.StatusCode.OK
        assert await _code(stub.RecordUsage(write, metadata=md(USAGE_KEY), timeout=5)) == grpc.StatusCode.PERMISSION_DENIED
        assert await _code(stub.GetUsage(read, metadata=md(CHAT_KEY), timeout=5)) == grpc.StatusCode.PERMISSION_DENIED
        for full in (ADMIN_KEY, MASTER, derive_service_key(MASTER)):
            assert await _code(stub.RecordUsage(write, metadata=md(full), timeout=5)) == grpc.StatusCode.OK
        assert await _code(stub.GetUsage(read, metadata=md(USAGE_KEY + "x"), timeout=5)) == \
            grpc.StatusCode.UNAUTHENTICATED


async def test_a_chat_key_chats_but_cannot_register_upstreams(redis_server, redis_client):
    async with meter(redis_server.url, SECURITY) as meter_addr, router(meter_addr, SECURITY) as addr:
        async with grpc.aio.insecure_channel(addr) as ch:
            stub = router_pb2_grpc.RouterServiceStub(ch)
            req = router_pb2.ChatRequest(model="fake-echo", messages=[router_pb2.Message(role="user", content="hi")])
            answer = await stub.Complete(req, metadata=md(CHAT_KEY), timeout=10)
            assert answer.deltas[0].content == "hi"
            reg = router_pb2.RegisterUpstreamRequest(node_id="n", base_url="https://8.8.8.8/v1", models=["x"])
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.RegisterUpstream(reg, metadata=md(CHAT_KEY), timeout=5)
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED and "support-bot" in err.value.details()
            assert CHAT_KEY not in err.value.details()


async def test_starting_processes_on_the_runtime_host_needs_admin(redis_server, tmp_path):
    async with running_runtime(redis_server.url, tmp_path, security=SECURITY) as rt:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{rt.app.port}") as ch:
            stub = runtime_pb2_grpc.RuntimeServiceStub(ch)
            start = runtime_pb2.StartAgentRequest(agent_id="nobody-here")
            create = runtime_pb2.CreateAgentRequest(agent=runtime_pb2.Agent(
                id="evil", workspace="w", process=runtime_pb2.ProcessSpec(command="/bin/sh", args=["-c", "id"])))
            for key in (CHAT_KEY, USAGE_KEY):
                assert await _code(stub.StartAgent(start, metadata=md(key), timeout=5)) == \
                    grpc.StatusCode.PERMISSION_DENIED
                assert await _code(stub.CreateAgent(create, metadata=md(key), timeout=5)) == \
                    grpc.StatusCode.PERMISSION_DENIED
            # An admin key gets past the check (the agent does not exist: the runtime's own 404).
            assert await _code(stub.StartAgent(start, metadata=md(ADMIN_KEY), timeout=5)) == grpc.StatusCode.NOT_FOUND


def test_internal_keys_in_the_config_name_their_errors():
    from services.common.env import ConfigError

    with pytest.raises(ConfigError, match=r"internal_keys\[0\].scopes"):
        parse_internal_keys([{"name": "x", "scopes": ["root"], "sha256": "0" * 64}])
    with pytest.raises(ConfigError, match=r"internal_keys\[0\].sha256"):
        parse_internal_keys([{"name": "x", "scopes": ["chat"], "sha256": "nope"}])
