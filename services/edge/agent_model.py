"""`model: "agent/{id}"` on the chat-like endpoints: the runtime answers as that agent (its system prompt,
model and BYOK config, with its fallback agents), streaming the router's message type so the relay's
one code path serves it. Sessions are opt-in: `metadata.session_id` continues one; otherwise the
client's messages are the whole history, as with any OpenAI model.
"""
from __future__ import annotations

import grpc

from services.edge.auth import Principal
from services.edge.dialects.base import Parsed
from services.edge.errors import from_rpc_error
from tokenyard.runtime.v1 import runtime_pb2, runtime_pb2_grpc

PREFIX = "agent/"


def is_agent_model(model: str) -> bool:
    return model.startswith(PREFIX)


class AgentModel:
    def __init__(self, runtime: runtime_pb2_grpc.RuntimeServiceStub, timeout: float) -> None:
        self._runtime = runtime
        self._timeout = timeout

    async def open(self, principal: Principal, parsed: Parsed):
        """The AgentChat call, or (HTTP status, OpenAI error, headers) when it may not be made."""
        req = parsed.request
        agent_id = req.model[len(PREFIX):]
        refused = await self._refuse(principal, agent_id)
        if refused is not None:
            return refused
        chat = runtime_pb2.AgentChatRequest(agent_id=agent_id, messages=req.messages, request_id=req.request_id,
                                            caller=req.caller, user=req.user,
                                            session_id=req.metadata.get("session_id", ""))
        if req.HasField("temperature"):
            chat.temperature = req.temperature
        limit = req.max_completion_tokens if req.HasField("max_completion_tokens") else (
            req.max_tokens if req.HasField("max_tokens") else None)
        if limit is not None:
            chat.max_tokens = limit
        return self._runtime.AgentChat(chat, timeout=self._timeout)

    async def _refuse(self, principal: Principal, agent_id: str):
        """Master, a key bound to this agent, or an unbound key of the agent's workspace may talk to it."""
        if principal.is_master or principal.caller.agent_id == agent_id:
            return None
        not_found = (404, {"message": f"The model `agent/{agent_id}` does not exist or you do not have access to it.",
                           "type": "invalid_request_error", "param": "model", "code": "model_not_found"}, {})
        if principal.caller.agent_id:
            return not_found
        try:
            agent = (await self._runtime.GetAgent(runtime_pb2.GetAgentRequest(id=agent_id), timeout=5)).agent
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                return not_found
            status, body, headers = from_rpc_error(err)
            return status, body["error"], headers
        return None if principal.owns_workspace(agent.workspace) else not_found
