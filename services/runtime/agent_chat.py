"""Agent chat: the agent's system prompt + session history + the new messages, through the router
(or to the remote agent), with the fallback agents tried in order when an agent fails before its
first token. After the first token there is no switching (no two agents' words in one answer); a
failure then reaches the client as the stream's error, as the mid-stream contract says.

`run()` yields one `Answering` first (who answers, in which session), then the ChatResponse messages.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import orjson
import structlog
from google.protobuf import json_format

from services.common.errors import GatewayError, not_found
from services.common.rpc_end import call_ended
from services.runtime.registry import AgentRegistry
from services.runtime.remote import RemoteAgentClient, RemoteAgentError
from services.runtime.sessions import SessionStore
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2, router_pb2_grpc
from tokenyard.runtime.v1 import runtime_pb2

log = structlog.get_logger()
# Router failures that are the caller's fault: another agent would fail the same way, so no fallback.
MAX_CHAIN = 8
"""The agent and at most 7 fallbacks are tried; keep equal to services.edge.agent_model.MAX_CHAIN."""
_NO_FALLBACK = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


@dataclass(frozen=True)
class Answering:
    agent_id: str
    session_id: str


class AgentFailed(Exception):
    """One agent of the chain failed before answering; `reason` is safe to show a client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _tools(agent: runtime_pb2.Agent) -> list[router_pb2.Tool]:
    out = []
    for t in json_format.MessageToDict(agent.tools) if agent.HasField("tools") else []:
        fn = t.get("function") or {}
        out.append(router_pb2.Tool(type=t.get("type") or "function", name=fn.get("name", ""),
                                   description=fn.get("description", ""),
                                   parameters_json=orjson.dumps(fn["parameters"]).decode() if "parameters" in fn else ""))
    return out


class AgentChat:
    def __init__(self, registry: AgentRegistry, sessions: SessionStore, router: router_pb2_grpc.RouterServiceStub,
                 remote: RemoteAgentClient, clock=time.time) -> None:
        self._registry = registry
        self._sessions = sessions
        self._router = router
        self._remote = remote
        self._clock = clock

    async def build(self, agent: runtime_pb2.Agent, history: list[runtime_pb2.SessionMessage],
                    req: runtime_pb2.AgentChatRequest, session_id: str) -> router_pb2.ChatRequest:
        # An agent that names only a tier gets the tier's model (the router resolves `tier/<name>`).
        model = agent.model or agent.llm.model or (f"tier/{agent.tier}" if agent.tier else "")
        if not model and agent.kind != runtime_pb2.AGENT_KIND_REMOTE:
            raise AgentFailed("the agent has no model configured")
        out = router_pb2.ChatRequest(request_id=req.request_id, client_request_id=req.client_request_id, model=model,
                                     user=req.user, tools=_tools(agent))
        if agent.system_prompt:
            out.messages.add(role="system", content=agent.system_prompt)
        out.messages.extend(router_pb2.Message(role=m.role, content=m.content) for m in history)
        out.messages.extend(req.messages)
        if req.HasField("temperature"):
            out.temperature = req.temperature
        if req.HasField("max_tokens"):
            out.max_tokens = req.max_tokens
        out.caller.CopyFrom(common_pb2.Caller(key_id=req.caller.key_id, workspace=agent.workspace or req.caller.workspace,
                                              agent_id=agent.id, tier=agent.tier, user=req.user or req.caller.user,
                                              session_id=session_id))
        credential = await self._registry.credential(agent)
        if credential is not None:
            out.byok.CopyFrom(credential)
        return out

    async def _open(self, agent: runtime_pb2.Agent, chat: router_pb2.ChatRequest, timeout: float):
        """(first message, the rest) of one agent's answer, or AgentFailed."""
        if agent.kind == runtime_pb2.AGENT_KIND_REMOTE:
            stream = self._remote.stream(agent, await self._registry.remote_token(agent), chat)
            try:
                first = await anext(stream)
            except RemoteAgentError as exc:
                raise AgentFailed(str(exc)) from None
            return first, stream
        call = self._router.Chat(chat, timeout=timeout)
        try:
            first = await call.read()
        except grpc.aio.AioRpcError as err:
            if err.code() in _NO_FALLBACK:
                raise
            raise AgentFailed(err.details() or err.code().name.lower()) from None
        if first is grpc.aio.EOF:
            raise AgentFailed("empty answer")
        if first.HasField("final") and first.final.error.code and not first.deltas:
            raise AgentFailed(first.final.error.message)
        return first, call

    async def run(self, req: runtime_pb2.AgentChatRequest, timeout: float) -> AsyncIterator[object]:
        primary = await self._registry.get(req.agent_id)
        session = None
        if req.caller.workspace and req.caller.workspace != primary.workspace:
            raise not_found(f"No agent `{req.agent_id}`.", code="agent_not_found", param="agent_id")
        if req.session_id:
            session = await self._sessions.owned(req.session_id, primary.id, primary.workspace)
        elif req.new_session:
            session = await self._sessions.create(primary.id, req.user, workspace=primary.workspace)
        history = list(session.messages) if session else []
        sid = session.id if session else ""
        # At most MAX_CHAIN agents: the edge reserves the budget for these and no more (services/edge/agent_model.py).
        chain = list(dict.fromkeys([primary.id, *primary.fallback_agents]))[:MAX_CHAIN]
        errors: list[str] = []
        for position, agent_id in enumerate(chain):
            try:
                agent = primary if agent_id == primary.id else await self._registry.get(agent_id)
                chat = await self.build(agent, history, req, sid)
                # The router meters a call that fails before its first token as an attempt of this request
                # when another agent follows, so the one reservation stays for the agent that answers.
                chat.fallback_follows, chat.agent_attempt = position + 1 < len(chain), position
                first, rest = await self._open(agent, chat, timeout)
            except GatewayError as exc:
                errors.append(f"{agent_id}: {exc.message}")
                continue
            except AgentFailed as exc:
                errors.append(f"{agent_id}: {exc.reason}")
                log.warning("agent_failed", request_id=req.request_id, agent_id=agent_id, reason=exc.reason)
                continue
            yield Answering(agent.id, sid)
            async for msg in self._relay(first, rest, agent, primary.id, session, req):
                yield msg
            return
        raise GatewayError(grpc.StatusCode.UNAVAILABLE, "Agent `%s` and its fallbacks failed: %s."
                           % (primary.id, "; ".join(errors)), "upstream_error", "agent_chain_failed", 502)

    async def _relay(self, first, rest, agent: runtime_pb2.Agent, primary_id: str, session, req):
        """Relays one agent's answer. The session is written before the final message goes out: a client
        (the edge) may cancel the call as soon as it has the final, and the turn must already be saved."""
        text: list[str] = []
        msg = first
        try:
            while msg is not grpc.aio.EOF:
                text.extend(d.content for d in msg.deltas if d.index == 0)
                if msg.HasField("final"):
                    if session is not None and not msg.final.error.code:
                        await self._record(session.id, req, agent, primary_id, "".join(text), msg.final)
                    yield msg
                    if hasattr(rest, "cancel"):
                        await call_ended(rest)  # the router ends it with OK: no CANCELLED span
                    return
                yield msg
                msg = await (anext(rest, grpc.aio.EOF) if agent.kind == runtime_pb2.AGENT_KIND_REMOTE else rest.read())
        finally:
            if hasattr(rest, "cancel") and not rest.done():
                rest.cancel()
            elif hasattr(rest, "aclose"):
                await rest.aclose()

    async def _record(self, sid: str, req, agent: runtime_pb2.Agent, primary_id: str, answer: str,
                      final: router_pb2.ChatFinal) -> None:
        meta = {"deployment": final.deployment}
        if agent.id != primary_id:
            meta["fallback_for"] = primary_id
        await self._sessions.append(sid, [
            *(runtime_pb2.SessionMessage(role=m.role, content=m.content) for m in req.messages),
            runtime_pb2.SessionMessage(role="assistant", content=answer, agent_id=agent.id, metadata=meta)])
