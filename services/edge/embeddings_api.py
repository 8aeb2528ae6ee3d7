"""POST /v1/embeddings: validated at the edge, served by the router's Embed RPC (same resilience as chat)."""
from __future__ import annotations

import base64
import struct
from typing import Annotated

import grpc
import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from services.edge.completions_format import cost_header
from services.edge.dialects.base import Parsed
from services.edge.errors import from_rpc_error, json_error
from services.edge.middleware import CLIENT_REQUEST_ID, PRINCIPAL, REQUEST_ID, id_headers
from services.edge.relay import ChatRelay
from services.edge.translate import describe
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

MAX_INPUTS = 2048
Token = Annotated[int, Field(ge=0, le=2**31 - 1)]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: Annotated[str, Field(min_length=1, max_length=256)]
    input: StrictStr | Annotated[list[StrictStr], Field(min_length=1, max_length=MAX_INPUTS)] \
        | Annotated[list[Token], Field(min_length=1)] \
        | Annotated[list[Annotated[list[Token], Field(min_length=1)]], Field(min_length=1, max_length=MAX_INPUTS)]
    encoding_format: Annotated[str, Field(pattern="^(float|base64)$")] = "float"
    dimensions: Annotated[int, Field(ge=1, le=65536)] | None = None
    user: StrictStr | None = None


def _inputs(value) -> list[router_pb2.EmbedInput]:
    if isinstance(value, str):
        return [router_pb2.EmbedInput(text=value)]
    if all(isinstance(v, int) for v in value):
        return [router_pb2.EmbedInput(tokens=value)]
    if all(isinstance(v, str) for v in value):
        return [router_pb2.EmbedInput(text=v) for v in value]
    return [router_pb2.EmbedInput(tokens=v) for v in value]


def _b64(values) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


class EmbeddingsHandler:
    def __init__(self, router: router_pb2_grpc.RouterServiceStub, relay: ChatRelay, timeout: float = 120.0) -> None:
        self._router = router
        self._relay = relay
        self._timeout = timeout

    async def handle(self, request: web.Request) -> web.Response:
        rid, principal = request[REQUEST_ID], request[PRINCIPAL]
        headers = id_headers(request)
        try:
            body = EmbeddingRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            message, param, code = describe(exc)
            return json_error(400, message, param=param, code=code)
        inputs = _inputs(body.input)
        if any(not i.text and not i.tokens for i in inputs):
            return json_error(400, "`input` must not contain empty strings.", param="input", code="invalid_value")
        # UTF-8 bytes bound the tokens of any tokenizer (services/common/prompt_tokens.py); token arrays are exact.
        estimate = sum(len(i.text.encode()) + len(i.tokens) + 1 for i in inputs)
        refused = await self._relay.admit(principal, body.model, estimate, headers)
        if refused is not None:
            status, error = refused
            return json_error(status, error["message"], error["type"], error["param"], error["code"], headers)
        # Budgets as for chat: reserved before the call, settled by the router's usage record of this id.
        parsed = Parsed(router_pb2.ChatRequest(request_id=rid, model=body.model, caller=principal.caller,
                                               max_tokens=0), False, False, estimate)
        admitted = await self._relay.admit_budget(principal, parsed, None, headers)
        if isinstance(admitted, tuple):
            status, error, extra = admitted
            return json_error(status, error["message"], error["type"], error.get("param"), error.get("code"), extra)
        req = router_pb2.EmbedRequest(request_id=rid, model=body.model, inputs=inputs, user=body.user or "",
                                      encoding_format=body.encoding_format, caller=principal.caller,
                                      client_request_id=request[CLIENT_REQUEST_ID])
        if body.dimensions is not None:
            req.dimensions = body.dimensions
        if body.model_extra:
            try:
                req.extra_json = orjson.dumps(body.model_extra).decode()
            except TypeError:
                return json_error(400, "A value in the request cannot be represented (a number out of range?).",
                                  code="invalid_value")
        try:
            resp = await self._router.Embed(req, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            self._relay.release(principal, parsed, admitted, None)
            status, err_body, extra = from_rpc_error(err)
            return web.Response(status=status, body=orjson.dumps(err_body), content_type="application/json",
                                headers={**headers, **extra})
        self._relay.settle(principal, estimate, resp.usage.total_tokens)
        encode = _b64 if body.encoding_format == "base64" else list
        data = [{"object": "embedding", "index": e.index, "embedding": encode(e.values)} for e in resp.data]
        out = {"object": "list", "data": data, "model": resp.model or body.model,
               "usage": {"prompt_tokens": resp.usage.prompt_tokens, "total_tokens": resp.usage.total_tokens}}
        headers.update({"x-tokenyard-deployment": resp.deployment, "x-tokenyard-attempts": str(resp.attempts),
                        "x-tokenyard-cost-usd": cost_header(resp.cost_micros, resp.cost_unknown)})
        return web.Response(body=orjson.dumps(out), content_type="application/json", headers=headers)
