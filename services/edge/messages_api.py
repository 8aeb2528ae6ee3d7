"""Anthropic Messages routes: `POST /v1/messages` (through ChatRelay, like every chat dialect) and
`POST /v1/messages/count_tokens` (the router counts; nothing is run or billed).

Claude Code calls count_tokens before turns and for `/context`; when it fails, it falls back to a
billed `max_tokens: 1` completion per count, so it must answer even without an Anthropic upstream.
"""
from __future__ import annotations

import grpc
from aiohttp import web

from services.edge.dialects.anthropic_messages import AnthropicMessages, CountTokensRequest, native_headers
from services.edge.dialects.base import Invalid
from services.edge.errors import from_rpc_error
from services.edge.middleware import PRINCIPAL, REQUEST_ID, id_headers
from services.edge.relay import ChatRelay
from tokenyard.router.v1 import router_pb2, router_pb2_grpc


class MessagesHandler:
    def __init__(self, relay: ChatRelay, router: router_pb2_grpc.RouterServiceStub, timeout: float) -> None:
        self._relay = relay
        self._router = router
        self._timeout = timeout

    async def create(self, request: web.Request) -> web.StreamResponse:
        return await self._relay.handle(request, AnthropicMessages(native_headers(request.headers)))

    async def count_tokens(self, request: web.Request) -> web.Response:
        rid, principal = request[REQUEST_ID], request[PRINCIPAL]
        headers = id_headers(request)
        dialect = AnthropicMessages(native_headers(request.headers))
        try:
            parsed = dialect.parse(await request.read(), rid, principal.caller, CountTokensRequest)
        except Invalid as exc:
            return dialect.error(exc.status, {"message": exc.message}, headers)
        model = parsed.request.model
        if not principal.may_use(model):
            return dialect.error(404, {"message": f"model: {model}", "code": "model_not_found"}, headers)
        try:
            counted = await self._router.CountChatTokens(router_pb2.CountChatTokensRequest(chat=parsed.request),
                                                         timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            status, body, extra = from_rpc_error(err)
            return dialect.error(status, body["error"], {**headers, **extra})
        headers["x-tokenyard-token-count"] = "exact" if counted.exact else "estimate"
        return web.json_response({"input_tokens": counted.input_tokens}, headers=headers)
