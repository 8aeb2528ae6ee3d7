"""Agent registry over gRPC on a real Redis: CRUD, and BYOK keys that never come back out."""
from __future__ import annotations

import grpc
import pytest
from structlog.testing import capture_logs

from tests.fakes.agent_runtime import running_runtime
from tokenyard.router.v1 import router_pb2
from tokenyard.runtime.v1 import runtime_pb2 as pb

SECRET = "sk-byok-" + "Q" * 40
REMOTE_TOKEN = "remote-token-" + "Z" * 30


@pytest.fixture
async def rt(redis_server, redis_client, tmp_path):
    async with running_runtime(redis_server.url, tmp_path) as rt:
        yield rt


async def test_crud_round_trip(rt):
    created = (await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(
        id="writer", name="Writer", system_prompt="You write.", model="ok-a", fallback_agents=["editor"])))).agent
    assert created.kind == pb.AGENT_KIND_PROCESS and created.created_at_ms > 0
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(id="writer")))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    updated = (await rt.stub.UpdateAgent(pb.UpdateAgentRequest(agent=pb.Agent(id="writer", description="new"),
                                                               update_mask=["description"]))).agent
    assert updated.description == "new" and updated.model == "ok-a" and list(updated.fallback_agents) == ["editor"]
    generated = (await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(name="anon")))).agent
    assert generated.id.startswith("agt-")
    listed = (await rt.stub.ListAgents(pb.ListAgentsRequest())).agents
    assert sorted(a.id for a in listed) == sorted(["writer", generated.id])
    assert (await rt.stub.DeleteAgent(pb.DeleteAgentRequest(id="writer"))).deleted
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rt.stub.GetAgent(pb.GetAgentRequest(id="writer"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("agent, param", [
    (pb.Agent(id="Bad Id"), "id"),
    (pb.Agent(id="a", fallback_agents=["a"]), "fallback_agents"),
    (pb.Agent(id="r", remote=pb.RemoteSpec(host="h", port=0)), "remote"),
    (pb.Agent(id="r", remote=pb.RemoteSpec(host="h", port=80, protocol="ftp")), "remote.protocol"),
])
async def test_invalid_agents_are_rejected_with_the_field_named(rt, agent, param):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=agent))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(err.value.trailing_metadata())["ty-error-param"] == param


async def test_byok_key_is_sealed_in_redis_never_returned_and_used_only_for_the_agents_call(rt, redis_client):
    with capture_logs() as logs:
        agent = (await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(
            id="byok", model="ok-byok", llm=pb.LlmConfig(provider="openai", model="gpt-4o", api_key=SECRET),
            remote=pb.RemoteSpec())))).agent
        assert agent.llm.has_key and agent.llm.api_key == "" and agent.llm.encryption_key_id
        got = (await rt.stub.GetLlmConfig(pb.GetLlmConfigRequest(agent_id="byok"))).llm
        assert got.has_key and got.api_key == "" and got.model == "gpt-4o"
        # Changing the model keeps the key; its absence from the request does not erase it.
        got = (await rt.stub.SetLlmConfig(pb.SetLlmConfigRequest(
            agent_id="byok", llm=pb.LlmConfig(provider="openai", model="gpt-4o-mini"), keep_key=True))).llm
        assert got.has_key and got.model == "gpt-4o-mini"
        await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(id="plain", model="ok-plain")))
        test = await rt.stub.TestLlmConfig(pb.TestLlmConfigRequest(agent_id="byok"))
        assert test.ok and test.model == "ok-byok"
        for agent_id in ("byok", "plain"):
            async for _ in rt.stub.AgentChat(pb.AgentChatRequest(
                    agent_id=agent_id, messages=[router_pb2.Message(role="user", content="hi")])):
                pass
        everything = [await rt.stub.GetAgent(pb.GetAgentRequest(id="byok")),
                      await rt.stub.ListAgents(pb.ListAgentsRequest())]
    assert all(SECRET not in str(m) for m in everything)
    assert SECRET not in repr(logs)
    stored = b""
    for k in await redis_client.keys("*"):
        if await redis_client.type(k) == b"hash":
            stored += b"".join((await redis_client.hgetall(k)).values())
    assert b"llm_key" in b"".join(await redis_client.hkeys("ty:agent:byok")) and SECRET.encode() not in stored
    byok_calls = [r for r in rt.router.requests if r.caller.agent_id == "byok"]
    assert byok_calls and all(r.byok.api_key == SECRET and r.byok.provider == "openai" for r in byok_calls)
    assert all(not r.HasField("byok") for r in rt.router.requests if r.caller.agent_id == "plain")


async def test_clearing_the_key_and_storing_without_an_encryption_key(redis_server, redis_client, tmp_path):
    async with running_runtime(redis_server.url, tmp_path, encryption_key="") as rt:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(
                id="k", llm=pb.LlmConfig(api_key=SECRET))))
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert SECRET not in err.value.details()
        assert "TOKENYARD_ENCRYPTION_KEY" in err.value.details()


async def test_remote_token_is_write_only_too(rt):
    agent = (await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(
        id="far", remote=pb.RemoteSpec(host="127.0.0.1", port=9, auth_token=REMOTE_TOKEN))))).agent
    assert agent.kind == pb.AGENT_KIND_REMOTE and agent.remote.has_auth_token and agent.remote.auth_token == ""
    kept = (await rt.stub.UpdateAgent(pb.UpdateAgentRequest(
        agent=pb.Agent(id="far", remote=pb.RemoteSpec(host="127.0.0.2", port=9)), update_mask=["remote"]))).agent
    assert kept.remote.has_auth_token and kept.remote.host == "127.0.0.2"
