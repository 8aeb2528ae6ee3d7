"""RuntimeService over gRPC, part 1: agents, LLM config, processes and agent chat (proto <-> domain).

Sessions and drive RPCs are in `servicer_data.py`; errors map to statuses in `rpc_errors.py`.
"""
from __future__ import annotations

import time

import grpc
import structlog

from services.common.errors import invalid
from services.runtime import agent_chat
from services.runtime.agent_chat import AgentFailed, Answering
from services.runtime.agent_files import AgentFiles
from services.runtime.drive import Drive
from services.runtime.registry import AgentRegistry
from services.runtime.remote_health import RemoteHealthTracker
from services.runtime.rpc_errors import streaming, unary
from services.runtime.servicer_data import DataRpcs
from services.runtime.sessions import SessionStore
from services.runtime.supervisor import Supervisor
from tokenyard.router.v1 import router_pb2, router_pb2_grpc
from tokenyard.runtime.v1 import runtime_pb2 as pb
from tokenyard.runtime.v1 import runtime_pb2_grpc

log = structlog.get_logger()
MD_ANSWERED = "ty-agent-answered"
MD_SESSION = "ty-session-id"


def _scrub(text: str, secret: str) -> str:
    """Upstream error texts can quote the key they were given; never pass one on."""
    return text.replace(secret, "[REDACTED]") if secret else text


class RuntimeServicer(DataRpcs, runtime_pb2_grpc.RuntimeServiceServicer):
    def __init__(self, registry: AgentRegistry, supervisor: Supervisor, files: AgentFiles, sessions: SessionStore,
                 chat: agent_chat.AgentChat, remote_health: RemoteHealthTracker, drive: Drive,
                 router: router_pb2_grpc.RouterServiceStub, chat_timeout: float, session_ttl: float) -> None:
        super().__init__(sessions, drive, registry, session_ttl)
        self._registry = registry
        self._supervisor = supervisor
        self._files = files
        self._chat = chat
        self._remote_health = remote_health
        self._router = router
        self._chat_timeout = chat_timeout

    @unary
    async def CreateAgent(self, request, context):
        return pb.CreateAgentResponse(agent=await self._registry.create(request.agent))

    @unary
    async def GetAgent(self, request, context):
        return pb.GetAgentResponse(agent=await self._registry.get(request.id))

    @unary
    async def ListAgents(self, request, context):
        return pb.ListAgentsResponse(agents=await self._registry.list(request.workspace))

    @unary
    async def UpdateAgent(self, request, context):
        return pb.UpdateAgentResponse(agent=await self._registry.update(request.agent, list(request.update_mask)))

    @unary
    async def DeleteAgent(self, request, context):
        await self._registry.get(request.id)
        await self._supervisor.stop(request.id)
        await self._drive.delete_all(request.id)
        await self._remote_health.reset(request.id)
        return pb.DeleteAgentResponse(deleted=await self._registry.delete(request.id))

    @unary
    async def SetLlmConfig(self, request, context):
        return pb.SetLlmConfigResponse(llm=await self._registry.set_llm(request.agent_id, request.llm, request.keep_key))

    @unary
    async def GetLlmConfig(self, request, context):
        return pb.GetLlmConfigResponse(llm=(await self._registry.get(request.agent_id)).llm)

    @unary
    async def TestLlmConfig(self, request, context):
        agent = await self._registry.get(request.agent_id)
        probe = pb.AgentChatRequest(request_id=request.request_id or f"llmtest_{int(time.time() * 1000)}",
                                    max_tokens=8, messages=[router_pb2.Message(role="user", content="Reply with OK.")])
        t0 = time.monotonic()
        try:
            chat = await self._chat.build(agent, [], probe, "")
        except AgentFailed as exc:
            return pb.TestLlmConfigResponse(ok=False, error=exc.reason)
        secret = chat.byok.api_key
        result = pb.TestLlmConfigResponse(model=chat.model)
        try:
            async for msg in self._router.Chat(chat, timeout=30):
                if msg.HasField("final"):
                    result.deployment = msg.final.deployment
                    result.error = _scrub(msg.final.error.message, secret)
        except grpc.aio.AioRpcError as err:
            result.error = _scrub(err.details() or err.code().name, secret)
        result.ok = not result.error
        result.latency_ms = int((time.monotonic() - t0) * 1000)
        return result

    async def _startable(self, agent_id: str) -> pb.Agent:
        agent = await self._registry.get(agent_id)
        if not agent.process.command:
            raise invalid(f"Agent `{agent_id}` has no `process.command` to run.", param="process.command")
        return agent

    @unary
    async def StartAgent(self, request, context):
        agent = await self._startable(request.agent_id)
        try:
            return pb.StartAgentResponse(health=await self._supervisor.start(agent))
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            what = "not found or not executable" if not isinstance(exc, NotADirectoryError) else "bad working_dir"
            raise invalid(f"Cannot start agent `{agent.id}`: command {what}.", param="process.command",
                          code="agent_start_failed") from None

    @unary
    async def StopAgent(self, request, context):
        await self._registry.get(request.agent_id)
        return pb.StopAgentResponse(health=await self._supervisor.stop(request.agent_id))

    @unary
    async def GetAgentHealth(self, request, context):
        await self._registry.get(request.agent_id)
        return pb.GetAgentHealthResponse(health=self._supervisor.health(request.agent_id))

    @unary
    async def ListRunningAgents(self, request, context):
        return pb.ListRunningAgentsResponse(agents=self._supervisor.running())

    @streaming
    async def StreamAgentLogs(self, request, context):
        await self._registry.get(request.agent_id)
        tail = request.tail_lines if request.tail_lines > 0 else 100
        async for lines in self._files.logs(request.agent_id, min(tail, 10_000), request.follow):
            yield pb.StreamAgentLogsResponse(lines=lines)

    @streaming
    async def AgentChat(self, request, context):
        if not request.messages:
            raise invalid("Send at least one message.", param="messages")
        remaining = context.time_remaining()
        timeout = min(remaining, self._chat_timeout) if remaining else self._chat_timeout
        async for item in self._chat.run(request, timeout):
            if isinstance(item, Answering):
                await context.send_initial_metadata(((MD_ANSWERED, item.agent_id), (MD_SESSION, item.session_id)))
                log.info("agent_answering", request_id=request.request_id, agent_id=request.agent_id,
                         answered_by=item.agent_id, session_id=item.session_id)
                continue
            yield item

    @unary
    async def GetRemoteHealth(self, request, context):
        agent = await self._registry.get(request.agent_id)
        if agent.kind != pb.AGENT_KIND_REMOTE:
            raise invalid(f"Agent `{agent.id}` is not a remote agent.", param="agent_id")
        return pb.GetRemoteHealthResponse(health=await self._remote_health.get(agent.id))



