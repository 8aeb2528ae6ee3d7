"""OpenAI chat completions: `/v1/chat/completions`."""
from __future__ import annotations

import time

import orjson
from aiohttp import web
from pydantic import ValidationError

from services.common.ids import new_id
from services.edge.completions_format import Assembler, ChunkWriter
from services.edge.dialects.base import Invalid, Parsed, estimate_tokens
from services.edge.schemas import ChatCompletionRequest
from services.edge.translate import describe, to_chat_request
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

_DONE = b"data: [DONE]\n\n"


def openai_error(status: int, error: dict, headers: dict | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps({"error": error}), content_type="application/json",
                        headers=headers)


class _Writer:
    def __init__(self, completion_id: str, model: str, created: int) -> None:
        self._w = ChunkWriter(completion_id, model, created)
        self._open: set[int] = set()

    def chunk(self, msg: router_pb2.ChatResponse) -> bytes:
        for d in msg.deltas:
            (self._open.discard if d.finish_reason else self._open.add)(d.index)
        return self._w.chunk(msg)

    def finish(self, final: router_pb2.ChatFinal, include_usage: bool) -> bytes:
        return (self._w.usage(final) if include_usage else b"") + _DONE

    def fail(self, final: router_pb2.ChatFinal | None, error: dict) -> bytes:
        if final is not None:
            return self._w.error_end(final, self._open or {0})
        return b"event: error\ndata: " + orjson.dumps({"error": error}) + b"\n\n"


class OpenAIChat:
    name = "openai"

    def __init__(self, max_messages: int) -> None:
        self._max_messages = max_messages

    def parse(self, raw: bytes, request_id: str, caller: common_pb2.Caller) -> Parsed:
        try:
            body = ChatCompletionRequest.model_validate_json(raw)
        except ValidationError as exc:
            message, param, code = describe(exc)
            raise Invalid(message, param, code) from None
        if len(body.messages) > self._max_messages:
            raise Invalid(f"Too many messages: at most {self._max_messages}.", "messages", "too_many_messages")
        req = to_chat_request(body, request_id, caller)
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return Parsed(req, body.stream, include_usage, estimate_tokens(req))

    error = staticmethod(openai_error)

    def writer(self, parsed: Parsed, first: router_pb2.ChatResponse) -> _Writer:
        return _Writer(_new_id(), first.model or parsed.request.model, first.created or int(time.time()))

    def body(self, parsed, first, messages, final) -> dict:
        assembler = Assembler()
        for msg in messages:
            assembler.add(msg)
        return assembler.completion(_new_id(), first.model or parsed.request.model,
                                    first.created or int(time.time()), final)


def _new_id() -> str:
    return new_id("chatcmpl-", 24)
