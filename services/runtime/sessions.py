"""Sessions and their message history in Redis, with JSON export/import and TTL cleanup.

A session is two keys sharing a hash tag (`ty:{s:<id>}` for the record, `ty:{s:<id>}:msgs` for the
history list), so every update of a session is one MULTI on one Cluster slot. Two sorted sets by last
update (`ty:sessions`, `ty:sessions:agent:<id>`) serve listing newest-first and cleanup of idle sessions;
they live in other slots, so they are written in steps of their own, each safe to repeat, ordered so
that a crash between steps leaves at worst an index entry without a session (skipped by `list`,
reaped by `cleanup` once it is stale), never a session no index knows, which nothing would ever clean up.
"""
from __future__ import annotations

import re
import secrets
import time

import grpc
import orjson
import redis.asyncio as redis
from google.protobuf import json_format

from services.common.errors import GatewayError, invalid, not_found
from tokenyard.runtime.v1 import runtime_pb2

EXPORT_FORMAT = "tokenyard.session.v1"
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
MAX_IMPORT_MESSAGES = 100_000
_INDEX = "ty:sessions"


def _meta_key(sid: str) -> str:
    return f"ty:{{s:{sid}}}"


def _msgs_key(sid: str) -> str:
    return f"ty:{{s:{sid}}}:msgs"


def _agent_index(agent_id: str) -> str:
    return f"ty:sessions:agent:{agent_id}"


def check_session_id(sid: str) -> str:
    if not SESSION_ID.match(sid or ""):
        raise invalid("Session ids use 1-80 letters, digits, '-' or '_'.", param="session_id", code="invalid_session_id")
    return sid


class SessionStore:
    def __init__(self, client: redis.Redis, clock=time.time) -> None:
        self._redis = client
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def create(self, agent_id: str = "", user: str = "", metadata: dict | None = None,
                     workspace: str = "") -> runtime_pb2.Session:
        now = self._now_ms()
        s = runtime_pb2.Session(id="ses_" + secrets.token_hex(10), agent_id=agent_id, user=user,
                                metadata=metadata or {}, created_at_ms=now, updated_at_ms=now, workspace=workspace)
        await self._save(s, [], replace=False)
        return s

    async def _save(self, s: runtime_pb2.Session, messages: list[runtime_pb2.SessionMessage], replace: bool) -> None:
        record = runtime_pb2.Session(**{f: getattr(s, f) for f in ("id", "agent_id", "user", "created_at_ms",
                                                                   "updated_at_ms", "workspace")}, metadata=s.metadata)
        old_agent = await self._agent_of(s.id) if replace else ""
        await self._index(s.id, s.agent_id, s.updated_at_ms)
        pipe = self._redis.pipeline(transaction=True)  # the session's own slot
        if replace:
            pipe.delete(_meta_key(s.id), _msgs_key(s.id))
        pipe.hset(_meta_key(s.id), "pb", record.SerializeToString())
        if messages:
            pipe.rpush(_msgs_key(s.id), *(m.SerializeToString() for m in messages))
        await pipe.execute()
        if old_agent and old_agent != s.agent_id:
            await self._redis.zrem(_agent_index(old_agent), s.id)

    async def _index(self, sid: str, agent_id: str, updated_at_ms: int) -> None:
        """One single-key ZADD per index (each its own slot); repeating it changes nothing."""
        await self._redis.zadd(_INDEX, {sid: updated_at_ms})
        if agent_id:
            await self._redis.zadd(_agent_index(agent_id), {sid: updated_at_ms})

    async def _agent_of(self, sid: str) -> str:
        old = await self._redis.hget(_meta_key(sid), "pb")
        return runtime_pb2.Session.FromString(old).agent_id if old else ""

    async def get(self, sid: str, with_messages: bool = True) -> runtime_pb2.Session:
        raw = await self._redis.hget(_meta_key(check_session_id(sid)), "pb")
        if raw is None:
            raise not_found(f"No session `{sid}`.", code="session_not_found", param="session_id")
        s = runtime_pb2.Session.FromString(raw)
        if with_messages:
            s.messages.extend(runtime_pb2.SessionMessage.FromString(m)
                              for m in await self._redis.lrange(_msgs_key(sid), 0, -1))
            s.message_count = len(s.messages)
        else:
            s.message_count = await self._redis.llen(_msgs_key(sid))
        return s

    async def owned(self, sid: str, agent_id: str, workspace: str) -> runtime_pb2.Session:
        """The session with its history when it belongs to this agent in this workspace; else the same 404
        as a missing one, so a caller cannot even learn that another workspace's session exists. Sessions
        stored before sessions carried a workspace are judged by their agent alone."""
        s = await self.get(sid)
        if s.agent_id != agent_id or (s.workspace and s.workspace != workspace):
            raise not_found(f"No session `{sid}`.", code="session_not_found", param="session_id")
        return s

    async def list(self, agent_id: str = "", limit: int = 50, offset: int = 0) -> list[runtime_pb2.Session]:
        limit = min(max(limit or 50, 1), 500)
        index = _agent_index(agent_id) if agent_id else _INDEX
        ids = await self._redis.zrevrange(index, max(offset, 0), max(offset, 0) + limit - 1)
        out = []
        for sid in ids:
            try:
                out.append(await self.get(sid.decode(), with_messages=False))
            except GatewayError:  # deleted since, being created, or a delete interrupted between its steps
                continue
        return out

    async def append(self, sid: str, messages: list[runtime_pb2.SessionMessage]) -> None:
        s = await self.get(sid, with_messages=False)
        now = self._now_ms()
        for m in messages:
            m.timestamp_ms = m.timestamp_ms or now
        s.updated_at_ms = now
        await self._index(sid, s.agent_id, now)
        pipe = self._redis.pipeline(transaction=True)
        pipe.rpush(_msgs_key(sid), *(m.SerializeToString() for m in messages))
        s.ClearField("message_count")
        pipe.hset(_meta_key(sid), "pb", s.SerializeToString())
        await pipe.execute()

    async def delete(self, sid: str) -> bool:
        """The session first, then its index entries: an interrupted delete leaves only index entries."""
        agent_id = await self._agent_of(check_session_id(sid))
        deleted = await self._redis.delete(_meta_key(sid), _msgs_key(sid))
        await self._redis.zrem(_INDEX, sid)
        if agent_id:
            await self._redis.zrem(_agent_index(agent_id), sid)
        return bool(deleted)

    async def export(self, sid: str) -> str:
        s = await self.get(sid)
        doc = json_format.MessageToDict(s, preserving_proto_field_name=True, unquote_int64_if_possible=True)
        messages = doc.pop("messages", [])
        doc.pop("message_count", None)
        return orjson.dumps({"format": EXPORT_FORMAT, "session": doc, "messages": messages}).decode()

    async def import_(self, text: str, overwrite: bool = False) -> runtime_pb2.Session:
        try:
            doc = orjson.loads(text)
            if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
                raise ValueError(f"`format` must be {EXPORT_FORMAT!r}")
            s = json_format.ParseDict(doc.get("session") or {}, runtime_pb2.Session())
            messages = [json_format.ParseDict(m, runtime_pb2.SessionMessage()) for m in doc.get("messages") or []]
        except (ValueError, TypeError, json_format.ParseError) as exc:
            raise invalid(f"Not a session export: {exc}", param="json", code="invalid_session_export") from None
        if len(messages) > MAX_IMPORT_MESSAGES:
            raise invalid(f"A session export may hold at most {MAX_IMPORT_MESSAGES} messages.", param="messages")
        s.id = check_session_id(s.id or "ses_" + secrets.token_hex(10))
        s.ClearField("messages")
        exists = await self._redis.exists(_meta_key(s.id))
        if exists and not overwrite:
            raise GatewayError(grpc.StatusCode.ALREADY_EXISTS, f"Session `{s.id}` already exists; import with "
                               "overwrite to replace it.", "invalid_request_error", "session_exists", 409, "id")
        now = self._now_ms()
        s.created_at_ms = s.created_at_ms or now
        s.updated_at_ms = s.updated_at_ms or now
        await self._save(s, messages, replace=bool(exists))
        return await self.get(s.id)

    async def cleanup(self, older_than_seconds: float) -> int:
        """Deletes sessions not updated within `older_than_seconds`; returns how many."""
        cutoff = self._now_ms() - int(older_than_seconds * 1000)
        stale = await self._redis.zrangebyscore(_INDEX, "-inf", cutoff)
        deleted = 0
        for sid in stale:
            deleted += await self.delete(sid.decode())
        return deleted
