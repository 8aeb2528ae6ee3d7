"""Agent chat through a (fake) router and a (fake) remote agent: fallback agents, sessions, remote health."""
from __future__ import annotations

import grpc
import pytest

from tests.fakes.agent_remote import FakeRemoteAgent
from tests.fakes.agent_runtime import running_runtime
from tokenyard.router.v1 import router_pb2
from tokenyard.runtime.v1 import runtime_pb2 as pb


@pytest.fixture
async def rt(redis_server, redis_client, tmp_path):
    async with running_runtime(redis_server.url, tmp_path) as rt:
        yield rt


@pytest.fixture
async def remote():
    server = await FakeRemoteAgent(token="remote-secret-token").start()
    yield server
    await server.stop()


async def create(rt, agent_id: str, **fields) -> None:
    await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(id=agent_id, **fields)))


async def chat(rt, agent_id: str, text: str, **kw) -> tuple[str, dict, list]:
    call = rt.stub.AgentChat(pb.AgentChatRequest(agent_id=agent_id, messages=[
        router_pb2.Message(role="user", content=text)], **kw))
    msgs = [m async for m in call]
    return "".join(d.content for m in msgs for d in m.deltas), dict(await call.initial_metadata()), msgs


async def test_fallback_agent_answers_when_the_primary_fails_and_the_session_says_who(rt):
    await create(rt, "primary", model="down-primary", system_prompt="You are primary.", fallback_agents=["backup"])
    await create(rt, "backup", model="ok-backup", system_prompt="You are backup.")
    text, md, msgs = await chat(rt, "primary", "hello", new_session=True, user="u1")
    assert text == "answer from ok-backup"
    assert md["ty-agent-answered"] == "backup" and md["ty-session-id"].startswith("ses_")
    assert msgs[-1].final.usage.total_tokens == 8
    backup_call = rt.router.requests[-1]
    assert backup_call.caller.agent_id == "backup" and backup_call.caller.session_id == md["ty-session-id"]
    assert backup_call.messages[0].content == "You are backup."

    session = (await rt.stub.GetSession(pb.GetSessionRequest(id=md["ty-session-id"]))).session
    assert [(m.role, m.content, m.agent_id) for m in session.messages] == [
        ("user", "hello", ""), ("assistant", "answer from ok-backup", "backup")]
    assert session.messages[1].metadata["fallback_for"] == "primary" and session.messages[1].timestamp_ms > 0
    assert session.agent_id == "primary" and session.user == "u1"

    # The next turn carries the history.
    await chat(rt, "primary", "and again", session_id=session.id)
    assert [m.content for m in rt.router.requests[-1].messages] == [
        "You are backup.", "hello", "answer from ok-backup", "and again"]


async def test_a_final_failure_lists_the_chain_tried_with_each_error(rt):
    await create(rt, "a", model="down-a", fallback_agents=["b", "ghost"])
    await create(rt, "b", model="down-b")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await chat(rt, "a", "hi")
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    md = dict(err.value.trailing_metadata())
    assert md["ty-http-status"] == "502" and md["ty-error-code"] == "agent_chain_failed"
    details = err.value.details()
    assert "a: All deployments of down-a failed" in details and "b: All deployments of down-b failed" in details
    assert "ghost: No agent `ghost`" in details


async def test_client_errors_are_not_retried_on_fallbacks_and_mid_stream_errors_are_relayed(rt):
    await create(rt, "strict", model="bad-model", fallback_agents=["backup"])
    await create(rt, "flaky", model="cut-model", fallback_agents=["backup"])
    await create(rt, "backup", model="ok-backup")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await chat(rt, "strict", "hi")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [r.caller.agent_id for r in rt.router.requests] == ["strict"]
    text, md, msgs = await chat(rt, "flaky", "hi", new_session=True)
    assert text == "answer " and msgs[-1].final.error.code == "stream_interrupted"  # no second agent's words
    assert md["ty-agent-answered"] == "flaky"
    assert (await rt.stub.GetSession(pb.GetSessionRequest(id=md["ty-session-id"]))).session.messages == []


async def test_remote_agent_answers_and_its_health_tracks_failures(rt, remote):
    spec = pb.RemoteSpec(host="127.0.0.1", port=remote.port, auth_token="remote-secret-token", max_retries=1,
                         timeout_seconds=5, model="remote-model")
    await create(rt, "far", remote=spec, fallback_agents=["local"])
    await create(rt, "local", model="ok-local")
    text, md, msgs = await chat(rt, "far", "hi", new_session=True)
    assert text == "remote says hi" and md["ty-agent-answered"] == "far"
    assert msgs[-1].final.usage.total_tokens == 7 and remote.calls[-1]["model"] == "remote-model"
    health = (await rt.stub.GetRemoteHealth(pb.GetRemoteHealthRequest(agent_id="far"))).health
    assert health.status == "healthy" and health.calls == 1

    async def health_after(fail_with: int, times: int = 1) -> pb.RemoteHealth:
        remote.fail_with = fail_with
        for _ in range(times):
            text, md, _ = await chat(rt, "far", "hi")
            assert md["ty-agent-answered"] == ("local" if fail_with else "far")
            assert text == ("answer from ok-local" if fail_with else "remote says hi")
        return (await rt.stub.GetRemoteHealth(pb.GetRemoteHealthRequest(agent_id="far"))).health

    h = await health_after(503)
    assert (h.status, h.success_rate, h.consecutive_failures) == ("degraded", 0.5, 1)
    assert len(remote.calls) == 1 + 2  # a failed call is retried once (max_retries=1)
    h = await health_after(0, 4)
    assert (h.status, round(h.success_rate, 2)) == ("degraded", 0.83)
    h = await health_after(503, 3)  # 5 of 9 ok (55%), but 3 failures in a row
    assert (h.status, h.consecutive_failures) == ("unhealthy", 3)
    h = await health_after(0)
    assert (h.status, h.consecutive_failures, h.success_rate) == ("degraded", 0, 0.6)
    assert set(remote.auth_seen) == {"Bearer remote-secret-token"}
