"""RouterService over gRPC: proto in, domain calls, proto out; GatewayError -> gRPC status."""
from __future__ import annotations

import uuid

import grpc

from services.common.errors import GatewayError
from services.router.chat import ChatRunner
from services.router.registry import Registry
from tokenyard.router.v1 import router_pb2, router_pb2_grpc


class RouterServicer(router_pb2_grpc.RouterServiceServicer):
    def __init__(self, runner: ChatRunner, registry: Registry) -> None:
        self._runner = runner
        self._registry = registry

    async def Chat(self, request: router_pb2.ChatRequest, context: grpc.aio.ServicerContext):
        if not request.request_id:
            request.request_id = f"req_{uuid.uuid4().hex}"
        try:
            async for message in self._runner.run(request):
                yield message
        except GatewayError as err:
            await err.abort(context)

    async def ListModels(self, request: router_pb2.ListModelsRequest, context: grpc.aio.ServicerContext):
        return router_pb2.ListModelsResponse(
            models=[router_pb2.ModelInfo(id=name, owned_by=owner) for name, owner in self._registry.models()])
