"""RouterService over gRPC: proto in, domain calls, proto out; GatewayError -> gRPC status."""
from __future__ import annotations

import contextlib

import grpc

from services.common.errors import GatewayError, invalid
import secrets
from services.router.chat import ChatRunner
from services.router.answer import AnswerBuilder
from services.router.embed import EmbedRunner
from services.router.escalation.config import AUTO_MODEL
from services.router.health import HealthReporter
from services.router import tokenizers
from services.router.node_registry import NodeRegistry, RegistrationError
from services.router.token_count import TokenCountRunner
from services.router.plan import Planner
from services.router.policy import RoutingPolicy
from services.router.upstreams import UpstreamBook
from tokenyard.router.v1 import router_pb2, router_pb2_grpc


class RouterServicer(router_pb2_grpc.RouterServiceServicer):
    def __init__(self, runner: ChatRunner, embedder: EmbedRunner, book: UpstreamBook, health: HealthReporter,
                 nodes: NodeRegistry | None, auto=None, planner: Planner | None = None,
                 max_answer_bytes: int = 16 * 1024 * 1024, counter: TokenCountRunner | None = None) -> None:
        self._runner = runner
        self._counter = counter
        self._planner = planner or Planner(book, RoutingPolicy())
        self._max_answer_bytes = max_answer_bytes
        self._auto = auto
        """EscalationServicer: serves `model: "tier/auto"` (issue 9); None: tier/auto is an unknown model."""
        self._embedder = embedder
        self._book = book
        self._health = health
        self._nodes = nodes

    async def Chat(self, request: router_pb2.ChatRequest, context: grpc.aio.ServicerContext):
        try:
            async for message in self._chat(request, context):
                yield message
        except GatewayError as err:
            await err.abort(context)

    async def Complete(self, request: router_pb2.ChatRequest, context: grpc.aio.ServicerContext):
        builder = AnswerBuilder(self._max_answer_bytes)
        try:
            # Leaving the block closes the stream, so an answer past the cap also ends the upstream call.
            async with contextlib.aclosing(self._chat(request, context, whole=True)) as stream:
                async for message in stream:
                    builder.add(message)
        except GatewayError as err:
            await err.abort(context)
        answer = builder.build()
        if not answer.HasField("final"):  # the contract: `final` is always set, an unfinished answer says so
            answer.final.error.CopyFrom(router_pb2.ChatError(
                type="upstream_error", code="stream_interrupted",
                message="The answer ended before it was complete."))
        return answer

    def _chat(self, request: router_pb2.ChatRequest, context: grpc.aio.ServicerContext, whole: bool = False):
        if not request.request_id:
            request.request_id = "req_" + secrets.token_hex(16)
        if self._auto is not None and request.model == AUTO_MODEL:
            return self._auto.auto_chat(request, context.time_remaining())
        return self._runner.run(request, context.time_remaining(), whole=whole)

    async def Embed(self, request: router_pb2.EmbedRequest, context: grpc.aio.ServicerContext):
        if not request.request_id:
            request.request_id = "req_" + secrets.token_hex(16)
        try:
            return await self._embedder.run(request, context.time_remaining())
        except GatewayError as err:
            await err.abort(context)

    async def CountChatTokens(self, request: router_pb2.CountChatTokensRequest, context: grpc.aio.ServicerContext):
        if self._counter is None:
            await GatewayError(grpc.StatusCode.UNIMPLEMENTED, "Token counting is not configured.", "api_error",
                               "not_implemented", 501).abort(context)
        try:
            return await self._counter.count(request.chat)
        except GatewayError as err:
            await err.abort(context)

    async def ListModels(self, request: router_pb2.ListModelsRequest, context: grpc.aio.ServicerContext):
        return tokenizers.list_models(self._planner, self._book.registry)

    async def GetHealth(self, request: router_pb2.GetHealthRequest, context: grpc.aio.ServicerContext):
        return await self._health.report()

    async def RegisterUpstream(self, request: router_pb2.RegisterUpstreamRequest, context: grpc.aio.ServicerContext):
        nodes = await self._registry(context)
        try:
            name, ttl = await nodes.register(request.node_id, request.base_url, request.provider or "openai",
                                             list(request.models), request.capacity, request.weight,
                                             request.ttl_seconds, request.region, request.tier)
        except RegistrationError as exc:
            await invalid(str(exc), str(exc).split(":")[0]).abort(context)
        return router_pb2.RegisterUpstreamResponse(deployment=name, ttl_seconds=ttl)

    async def Heartbeat(self, request: router_pb2.HeartbeatRequest, context: grpc.aio.ServicerContext):
        nodes = await self._registry(context)
        return router_pb2.HeartbeatResponse(known=await nodes.heartbeat(request.node_id, request.ttl_seconds))

    async def DeregisterUpstream(self, request: router_pb2.DeregisterUpstreamRequest,
                                 context: grpc.aio.ServicerContext):
        nodes = await self._registry(context)
        return router_pb2.DeregisterUpstreamResponse(removed=await nodes.deregister(request.node_id))

    async def _registry(self, context: grpc.aio.ServicerContext) -> NodeRegistry:
        if self._nodes is None:
            await GatewayError(grpc.StatusCode.FAILED_PRECONDITION, "The upstream registry needs REDIS_URL.",
                               "invalid_request_error", "registry_unavailable", 400).abort(context)
        return self._nodes
