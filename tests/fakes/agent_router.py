"""A fake RouterService for runtime tests: answers follow the model name, and it records every request.

    ok-* (or anything else)  streams "answer from <model>" in two messages, then a final with usage
    down-*                    fails before the first token (UNAVAILABLE, as the router does when a chain is exhausted)
    bad-*                     rejects the request (INVALID_ARGUMENT: the caller's fault)
    cut-*                     streams one message, then a final whose error says the stream broke
"""
from __future__ import annotations

import grpc

from services.common import grpc_server
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2, router_pb2_grpc


class FakeRouter(router_pb2_grpc.RouterServiceServicer):
    def __init__(self) -> None:
        self.requests: list[router_pb2.ChatRequest] = []

    async def Chat(self, request, context):
        self.requests.append(request)
        model = request.model
        if model.startswith("down-"):
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"All deployments of {model} failed (upstream HTTP 500).")
        if model.startswith("bad-"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Invalid value for 'messages'.")
        yield router_pb2.ChatResponse(id="chatcmpl-fake", model=model, created=1,
                                      deltas=[router_pb2.ChoiceDelta(index=0, role="assistant", content="answer ")])
        if model.startswith("cut-"):
            yield router_pb2.ChatResponse(final=router_pb2.ChatFinal(error=router_pb2.ChatError(
                type="upstream_error", code="stream_interrupted", message="The upstream broke off.")))
            return
        yield router_pb2.ChatResponse(deltas=[router_pb2.ChoiceDelta(index=0, content=f"from {model}",
                                                                     finish_reason="stop")])
        yield router_pb2.ChatResponse(final=router_pb2.ChatFinal(
            deployment=f"fake/{model}", attempts=1,
            usage=common_pb2.Usage(prompt_tokens=5, completion_tokens=3, total_tokens=8)))

    async def ListModels(self, request, context):
        return router_pb2.ListModelsResponse()


async def start_fake_router() -> tuple[grpc.aio.Server, FakeRouter, int]:
    fake = FakeRouter()
    server, _health, port = grpc_server.create_server(
        [lambda s: router_pb2_grpc.add_RouterServiceServicer_to_server(fake, s)], ["tokenyard.router.v1.RouterService"],
        "127.0.0.1:0")
    await server.start()
    return server, fake, port
