"""A session belongs to one agent in one workspace: any other caller gets 404, reads none of its history
and writes nothing into it (issue 16, item 4)."""
from __future__ import annotations

import secrets

import grpc
import pytest

from tests.fakes.agent_runtime import running_runtime
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2
from tokenyard.runtime.v1 import runtime_pb2 as pb


async def _chat(rt, agent_id: str, workspace: str, text: str, **kw):
    call = rt.stub.AgentChat(pb.AgentChatRequest(
        agent_id=agent_id, caller=common_pb2.Caller(workspace=workspace, agent_id=agent_id),
        messages=[router_pb2.Message(role="user", content=text)], **kw))
    msgs = [m async for m in call]
    return dict(await call.initial_metadata()), msgs


async def _history(rt, sid: str) -> list[tuple[str, str]]:
    session = (await rt.stub.GetSession(pb.GetSessionRequest(id=sid))).session
    return [(m.role, m.content) for m in session.messages]


@pytest.mark.parametrize("intruder_workspace", ["acme", "globex"])
async def test_another_workspaces_session_is_a_404_and_stays_untouched(redis_server, tmp_path, intruder_workspace):
    victim, intruder = f"victim-{secrets.token_hex(4)}", f"intruder-{secrets.token_hex(4)}"
    async with running_runtime(redis_server.url, tmp_path) as rt:
        await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(id=victim, workspace="globex",
                                                                       llm=pb.LlmConfig(model="m"))))
        # The intruder's own agent, in its own workspace (or a second agent in the victim's workspace).
        await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(id=intruder, workspace=intruder_workspace,
                                                                       llm=pb.LlmConfig(model="m"))))
        md, _ = await _chat(rt, victim, "globex", "my secret plan", new_session=True)
        sid = md["ty-session-id"]
        before = await _history(rt, sid)
        assert before[0] == ("user", "my secret plan")
        sent = len(rt.router.requests)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _chat(rt, intruder, intruder_workspace, "what was said?", session_id=sid)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert len(rt.router.requests) == sent  # no prompt was built with the victim's history
        assert await _history(rt, sid) == before
        # The owner continues it as before.
        await _chat(rt, victim, "globex", "next", session_id=sid)
        assert "my secret plan" in [m.content for m in rt.router.requests[-1].messages]


async def test_a_caller_of_another_workspace_cannot_chat_with_an_agent(redis_server, tmp_path):
    victim = f"victim-{secrets.token_hex(4)}"
    async with running_runtime(redis_server.url, tmp_path) as rt:
        await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(id=victim, workspace="globex",
                                                                       llm=pb.LlmConfig(model="m"))))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _chat(rt, victim, "acme", "hi", new_session=True)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert rt.router.requests == []
