"""Sessions on a real Redis: CRUD, JSON export/import round trip, TTL cleanup."""
from __future__ import annotations

import json

import grpc
import pytest

from services.runtime.sessions import SessionStore
from tests.fakes.agent_runtime import running_runtime
from tokenyard.runtime.v1 import runtime_pb2 as pb


@pytest.fixture
async def rt(redis_server, redis_client, tmp_path):
    async with running_runtime(redis_server.url, tmp_path) as rt:
        yield rt


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_export_import_round_trips_history_with_agents_timestamps_and_metadata(rt, redis_client):
    await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(id="helper", model="ok-h")))
    s = (await rt.stub.CreateSession(pb.CreateSessionRequest(agent_id="helper", user="ann",
                                                             metadata={"channel": "slack"}))).session
    await SessionStore(redis_client).append(s.id, [
        pb.SessionMessage(role="user", content="héllo", metadata={"lang": "fr"}),
        pb.SessionMessage(role="assistant", content="hi", agent_id="helper", timestamp_ms=1_700_000_000_123)])
    original = (await rt.stub.GetSession(pb.GetSessionRequest(id=s.id))).session
    exported = (await rt.stub.ExportSession(pb.ExportSessionRequest(id=s.id))).json
    doc = json.loads(exported)
    assert doc["format"] == "tokenyard.session.v1" and doc["messages"][1]["timestamp_ms"] == 1_700_000_000_123

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rt.stub.ImportSession(pb.ImportSessionRequest(json=exported))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert (await rt.stub.DeleteSession(pb.DeleteSessionRequest(id=s.id))).deleted
    imported = (await rt.stub.ImportSession(pb.ImportSessionRequest(json=exported))).session
    assert imported == original
    again = (await rt.stub.ImportSession(pb.ImportSessionRequest(json=exported, overwrite=True))).session
    assert again == original  # overwrite replaces, never appends a second copy of the history
    listed = (await rt.stub.ListSessions(pb.ListSessionsRequest(agent_id="helper"))).sessions
    assert [(x.id, x.message_count) for x in listed] == [(s.id, 2)]


@pytest.mark.parametrize("text", ["not json", "[]", '{"format": "other"}',
                                  '{"format": "tokenyard.session.v1", "session": {"id": "../x"}}',
                                  '{"format": "tokenyard.session.v1", "messages": [{"role": 5, "bogus": 1}]}'])
async def test_bad_imports_are_invalid_argument(rt, text):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rt.stub.ImportSession(pb.ImportSessionRequest(json=text))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_unknown_sessions_are_not_found(rt):
    for call in (rt.stub.GetSession(pb.GetSessionRequest(id="ses_nope")),
                 rt.stub.ExportSession(pb.ExportSessionRequest(id="ses_nope"))):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert not (await rt.stub.DeleteSession(pb.DeleteSessionRequest(id="ses_nope"))).deleted


async def test_cleanup_removes_only_sessions_idle_past_the_ttl(redis_client):
    clock = Clock(1_000_000.0)
    store = SessionStore(redis_client, clock)
    old = await store.create("a")
    clock.now += 3600
    fresh = await store.create("a")
    clock.now += 1800
    await store.append(old.id, [pb.SessionMessage(role="user", content="still here")])  # activity renews it
    stale = await store.create("b")
    clock.now += 3000
    assert await store.cleanup(older_than_seconds=3500) == 1  # only `fresh` (idle 4800 s)
    remaining = {s.id for s in await store.list()}
    assert remaining == {old.id, stale.id}
    assert await redis_client.exists(f"ty:{{s:{fresh.id}}}:msgs", f"ty:{{s:{fresh.id}}}") == 0
    assert [s.id for s in await store.list(agent_id="a")] == [old.id]


async def test_cleanup_rpc_uses_the_given_age(rt):
    s = (await rt.stub.CreateSession(pb.CreateSessionRequest())).session
    assert (await rt.stub.CleanupSessions(pb.CleanupSessionsRequest(older_than_seconds=3600))).deleted == 0
    with pytest.raises(grpc.aio.AioRpcError):
        await rt.stub.CleanupSessions(pb.CleanupSessionsRequest(older_than_seconds=-1))
    assert (await rt.stub.GetSession(pb.GetSessionRequest(id=s.id))).session.id == s.id
