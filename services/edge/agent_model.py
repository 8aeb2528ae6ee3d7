"""Agent calls at the edge: `model: "agent/{id}"` on the chat-like endpoints, and the plan every agent
path (this one and `POST /api/v1/agents/{id}/chat`) is admitted by.

The runtime answers as the agent (its system prompt, model and BYOK config, with its fallback
agents), streaming the router's message type so the relay's one code path serves it. Sessions are
opt-in: `metadata.session_id` continues one; otherwise the client's messages are the whole history.

Before any of that, `plan()` reads the agent and its fallbacks from the runtime (and checks the
caller may talk to it), so admission can reserve at the worst case over every model they may use and
against every agent's budget: the agent picks the model, not the client.
"""
from __future__ import annotations

import grpc
from google.protobuf import json_format

from services.edge.admission import AgentPlan
from services.edge.auth import Principal
from services.edge.dialects.base import Parsed
from services.edge.errors import from_rpc_error
from tokenyard.router.v1 import router_pb2
from tokenyard.runtime.v1 import runtime_pb2, runtime_pb2_grpc

PREFIX = "agent/"
MAX_CHAIN = 8
"""Agents in one plan at most (the agent and 7 fallbacks); the runtime tries no more (its own MAX_CHAIN)."""


def is_agent_model(model: str) -> bool:
    return model.startswith(PREFIX)


def _model_of(agent: runtime_pb2.Agent) -> str:
    """The model the runtime routes the agent to (services/runtime/agent_chat.py: build)."""
    return agent.model or agent.llm.model or (f"tier/{agent.tier}" if agent.tier else "")


class AgentModel:
    def __init__(self, runtime: runtime_pb2_grpc.RuntimeServiceStub, timeout: float) -> None:
        self._runtime = runtime
        self._timeout = timeout

    async def plan(self, principal: Principal, agent_id: str, session_id: str = "") -> AgentPlan | tuple[int, dict, dict]:
        """The agent chain's plan, or (HTTP status, OpenAI error, headers) when the caller may not use it."""
        not_found = (404, {"message": f"The model `agent/{agent_id}` does not exist or you do not have access to it.",
                           "type": "invalid_request_error", "param": "model", "code": "model_not_found"}, {})
        if principal.caller.agent_id and principal.caller.agent_id != agent_id:
            return not_found
        try:
            primary = await self._get(agent_id)
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                return not_found
            status, body, headers = from_rpc_error(err)
            return status, body["error"], headers
        if not (principal.is_master or principal.caller.agent_id == agent_id
                or principal.owns_workspace(primary.workspace)):
            return not_found
        chain = [primary]
        # The same chain the runtime walks (services/runtime/agent_chat.py: run).
        for fid in list(dict.fromkeys([primary.id, *primary.fallback_agents]))[1:MAX_CHAIN]:
            try:
                chain.append(await self._get(fid))
            except grpc.aio.AioRpcError as err:
                if err.code() != grpc.StatusCode.NOT_FOUND:  # a missing fallback is skipped by the runtime too
                    status, body, headers = from_rpc_error(err)
                    return status, body["error"], headers
        models = tuple(dict.fromkeys(m for m in (_model_of(a) for a in chain) if m))
        system = max((a.system_prompt for a in chain), key=len)
        preamble = [router_pb2.Message(role="system", content=system)] if system else []
        preamble += await self._history(session_id)
        tools = max((json_format.MessageToJson(a.tools, indent=None) if a.HasField("tools") else "" for a in chain),
                    key=len)
        return AgentPlan(agent_id=primary.id, workspace=primary.workspace, tier=primary.tier,
                         fallbacks=tuple(a.id for a in chain[1:]), models=models, preamble=tuple(preamble),
                         tools_json=tools)

    async def _history(self, session_id: str) -> list[router_pb2.Message]:
        """The session's messages, which the runtime sends before the new ones (none if it has no such session:
        the runtime then refuses the call itself)."""
        if not session_id:
            return []
        try:
            session = (await self._runtime.GetSession(runtime_pb2.GetSessionRequest(id=session_id), timeout=5)).session
        except grpc.aio.AioRpcError:
            return []
        return [router_pb2.Message(role=m.role, content=m.content) for m in session.messages]

    async def _get(self, agent_id: str) -> runtime_pb2.Agent:
        return (await self._runtime.GetAgent(runtime_pb2.GetAgentRequest(id=agent_id), timeout=5)).agent

    def open(self, parsed: Parsed, plan: AgentPlan):
        """The AgentChat call for an admitted `agent/<id>` request."""
        req = parsed.request
        chat = runtime_pb2.AgentChatRequest(agent_id=plan.agent_id, messages=req.messages, request_id=req.request_id,
                                            client_request_id=req.client_request_id, caller=req.caller,
                                            user=req.user, session_id=req.metadata.get("session_id", ""))
        if req.HasField("temperature"):
            chat.temperature = req.temperature
        limit = req.max_completion_tokens if req.HasField("max_completion_tokens") else (
            req.max_tokens if req.HasField("max_tokens") else None)
        if limit is not None:
            chat.max_tokens = limit
        return self._runtime.AgentChat(chat, timeout=self._timeout)
