"""POST /v1/chat/completions: validate, send to the router, relay its stream as SSE or assemble it.

Streaming and non-streaming share one RPC and one read loop. The first router message is awaited
before any HTTP byte is sent, so failures before the first token get a proper HTTP status; later
failures become an SSE error event, never a silent clean end.
"""
from __future__ import annotations

import time
import uuid

import grpc
import orjson
import structlog
from aiohttp import web
from pydantic import ValidationError

from services.edge.completions_format import Assembler, ChunkWriter
from services.edge.config import EdgeConfig
from services.edge.errors import from_rpc_error, json_error, rpc_error_response
from services.edge.middleware import CALLER, REQUEST_ID
from services.edge.schemas import ChatCompletionRequest
from services.edge.translate import describe, to_chat_request
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

log = structlog.get_logger()

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_DONE = b"data: [DONE]\n\n"


class ChatHandler:
    def __init__(self, cfg: EdgeConfig, router: router_pb2_grpc.RouterServiceStub) -> None:
        self._cfg = cfg
        self._router = router

    async def handle(self, request: web.Request) -> web.StreamResponse:
        t0 = time.monotonic()
        rid = request[REQUEST_ID]
        try:
            body = ChatCompletionRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            message, param, code = describe(exc)
            return json_error(400, message, param=param, code=code)
        if len(body.messages) > self._cfg.max_messages:
            return json_error(400, f"Too many messages: at most {self._cfg.max_messages}.", param="messages",
                              code="too_many_messages")
        call = self._router.Chat(to_chat_request(body, rid, request[CALLER]), timeout=self._cfg.request_timeout)
        status, final = "error", None
        try:
            try:
                first = await call.read()
            except grpc.aio.AioRpcError as err:
                status = err.code().name
                return rpc_error_response(err, {"x-request-id": rid})
            if first is grpc.aio.EOF:
                return json_error(502, "The upstream returned no answer.", "upstream_error", code="empty_stream")
            completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
            model, created = first.model or body.model, first.created or int(time.time())
            if body.stream:
                include_usage = bool(body.stream_options and body.stream_options.include_usage)
                resp, final = await self._stream(request, call, first, ChunkWriter(completion_id, model, created),
                                                 include_usage, rid)
            else:
                resp, final = await self._assemble(call, first, completion_id, model, created, rid)
            status = "ok" if final is not None and not final.error.code else "error"
            return resp
        finally:
            if not call.done():
                call.cancel()
                status = "cancelled" if status == "error" else status
            self._log(rid, request, body, final, status, t0)

    async def _stream(self, request, call, first, writer: ChunkWriter, include_usage: bool, rid: str):
        resp = web.StreamResponse(headers={**SSE_HEADERS, "x-request-id": rid})
        await resp.prepare(request)
        open_choices: set[int] = set()
        msg = first
        while True:
            if msg is grpc.aio.EOF:
                await resp.write(self._broken_event("The stream ended unexpectedly; the answer is incomplete."))
                return resp, None
            if msg.HasField("final"):
                final = msg.final
                if final.error.code:
                    await resp.write(writer.error_end(final, open_choices or {0}))
                else:
                    await resp.write((writer.usage(final) if include_usage else b"") + _DONE)
                return resp, final
            if msg.deltas:
                for d in msg.deltas:
                    (open_choices.discard if d.finish_reason else open_choices.add)(d.index)
                await resp.write(writer.chunk(msg))
            try:
                msg = await call.read()
            except grpc.aio.AioRpcError as err:
                _, body, _ = from_rpc_error(err)
                await resp.write(b"event: error\ndata: " + orjson.dumps(body) + b"\n\n")
                return resp, None

    async def _assemble(self, call, first, completion_id: str, model: str, created: int, rid: str):
        assembler, msg = Assembler(), first
        while msg is not grpc.aio.EOF and not msg.HasField("final"):
            assembler.add(msg)
            try:
                msg = await call.read()
            except grpc.aio.AioRpcError as err:
                return rpc_error_response(err, {"x-request-id": rid}), None
        if msg is grpc.aio.EOF:
            return json_error(502, "The upstream answer ended unexpectedly.", "upstream_error", code="stream_interrupted"), None
        final = msg.final
        headers = {"x-tokenyard-deployment": final.deployment, "x-tokenyard-attempts": str(final.attempts)}
        if final.error.code:
            return json_error(502, final.error.message, final.error.type, code=final.error.code, headers=headers), final
        body = orjson.dumps(assembler.completion(completion_id, model, created, final))
        return web.Response(body=body, content_type="application/json", headers=headers), final

    @staticmethod
    def _broken_event(message: str) -> bytes:
        body = {"error": {"message": message, "type": "upstream_error", "param": None, "code": "stream_interrupted"}}
        return b"event: error\ndata: " + orjson.dumps(body) + b"\n\n"

    @staticmethod
    def _log(rid, request, body, final: router_pb2.ChatFinal | None, status: str, t0: float) -> None:
        usage = final.usage if final is not None else None
        log.info("request", request_id=rid, key_id=request[CALLER].key_id, model=body.model, stream=body.stream,
                 deployment=final.deployment if final is not None else "", status=status,
                 prompt_tokens=usage.prompt_tokens if usage else 0,
                 completion_tokens=usage.completion_tokens if usage else 0,
                 latency_ms=round((time.monotonic() - t0) * 1000, 2))
