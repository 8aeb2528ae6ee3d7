"""Anthropic Messages inbound (`/v1/messages`), so the official `anthropic` SDK works against Tokenyard.

Requests become the router's OpenAI-shaped ChatRequest (system prompt first, tool_use/tool_result blocks
as tool calls and tool messages, images as data URLs); the stream comes back as Anthropic's events
(message_start, content_block_start/delta/stop, message_delta, message_stop) and errors in Anthropic's
shape `{"type": "error", "error": {"type", "message"}}`.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from services.common.ids import new_id
from services.edge.completions_format import routing_dict
from services.edge.dialects.base import Invalid, Parsed, estimate_tokens
from services.edge.schemas import TokenCount
from services.edge.translate import describe
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal",
         "function_call": "tool_use"}
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 502: "api_error",
                503: "overloaded_error", 504: "api_error"}


class Block(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: StrictStr
    text: StrictStr | None = None
    id: StrictStr | None = None
    name: StrictStr | None = None
    input: dict[str, Any] | None = None
    tool_use_id: StrictStr | None = None
    content: StrictStr | list[dict[str, Any]] | None = None
    source: dict[str, Any] | None = None
    is_error: bool | None = None


class AMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["user", "assistant"]
    content: StrictStr | list[Block]


class ATool(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: Annotated[str, Field(min_length=1, max_length=128)]
    description: StrictStr | None = None
    input_schema: dict[str, Any]


class MessagesRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: Annotated[str, Field(min_length=1, max_length=256)]
    max_tokens: TokenCount
    messages: Annotated[list[AMessage], Field(min_length=1)]
    system: StrictStr | list[Block] | None = None
    stop_sequences: list[StrictStr] | None = None
    temperature: Annotated[float, Field(ge=0, le=1)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    top_k: Annotated[int, Field(ge=0, le=10**6)] | None = None
    stream: bool = False
    tools: list[ATool] | None = None
    tool_choice: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


def _text(blocks: list[Block] | str) -> str:
    return blocks if isinstance(blocks, str) else "".join(b.text or "" for b in blocks if b.type == "text")


def _tool_result_text(block: Block) -> str:
    if isinstance(block.content, str) or block.content is None:
        return block.content or ""
    return "".join(part.get("text", "") for part in block.content if part.get("type") == "text")


def _messages(body: MessagesRequest) -> list[router_pb2.Message]:
    out = []
    if body.system:
        out.append(router_pb2.Message(role="system", content=_text(body.system)))
    for i, m in enumerate(body.messages):
        if isinstance(m.content, str):
            out.append(router_pb2.Message(role=m.role, content=m.content))
            continue
        msg = router_pb2.Message(role=m.role)
        for j, b in enumerate(m.content):
            if b.type == "text":
                msg.parts.add(type="text", text=b.text or "")
            elif b.type == "image" and b.source and b.source.get("type") == "base64":
                msg.parts.add(type="image_url", image_url=f"data:{b.source.get('media_type')};base64,{b.source.get('data')}")
            elif b.type == "image" and b.source and b.source.get("type") == "url":
                msg.parts.add(type="image_url", image_url=str(b.source.get("url")))
            elif b.type == "tool_use" and m.role == "assistant":
                msg.tool_calls.add(id=b.id or "", type="function", name=b.name or "",
                                   arguments=orjson.dumps(b.input or {}).decode())
            elif b.type == "tool_result" and m.role == "user":
                out.append(router_pb2.Message(role="tool", tool_call_id=b.tool_use_id or "", content=_tool_result_text(b)))
            elif b.type not in ("thinking", "redacted_thinking"):
                raise Invalid(f"Unsupported content block type `{b.type}`.", f"messages[{i}].content[{j}].type")
        if msg.tool_calls and all(p.type == "text" for p in msg.parts):
            msg.content = "".join(p.text for p in msg.parts)
            del msg.parts[:]
            msg.content_null = not msg.content
        if msg.parts or msg.tool_calls or msg.content:
            out.append(msg)
    return out


def _tool_choice(choice: dict[str, Any] | None) -> str:
    if not choice:
        return ""
    kind = choice.get("type")
    if kind == "tool":
        return orjson.dumps({"type": "function", "function": {"name": choice.get("name", "")}}).decode()
    return orjson.dumps({"auto": "auto", "any": "required", "none": "none"}.get(kind, "auto")).decode()


def anthropic_error(status: int, error: dict, headers: dict | None = None) -> web.Response:
    body = {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": error.get("message", "")}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)


def _event(name: str, data: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class _Writer:
    """Opens a content block per kind of output (text, each tool call), closes it when the next begins."""

    def __init__(self, message_id: str, model: str) -> None:
        self._start = _event("message_start", {"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 0, "output_tokens": 0}}})
        self._block = -1
        self._open: str | None = None  # "text" or "tool:<index>"
        self._stop = "end_turn"

    def _switch(self, kind: str, start: dict, out: list[bytes]) -> None:
        if self._open == kind:
            return
        if self._open is not None:
            out.append(_event("content_block_stop", {"type": "content_block_stop", "index": self._block}))
        self._block += 1
        self._open = kind
        out.append(_event("content_block_start", {"type": "content_block_start", "index": self._block,
                                                  "content_block": start}))

    def chunk(self, msg: router_pb2.ChatResponse) -> bytes:
        out = []
        if self._start:
            out.append(self._start)
            self._start = b""
        for d in msg.deltas:
            if d.index != 0:
                continue  # Anthropic has no n>1
            if d.content:
                self._switch("text", {"type": "text", "text": ""}, out)
                out.append(_event("content_block_delta", {"type": "content_block_delta", "index": self._block,
                                                          "delta": {"type": "text_delta", "text": d.content}}))
            for t in d.tool_calls:
                self._switch(f"tool:{t.index}", {"type": "tool_use", "id": t.id, "name": t.name, "input": {}}, out)
                if t.arguments:
                    out.append(_event("content_block_delta", {"type": "content_block_delta", "index": self._block,
                                                              "delta": {"type": "input_json_delta",
                                                                        "partial_json": t.arguments}}))
            if d.finish_reason:
                self._stop = _STOP.get(d.finish_reason, "end_turn")
        return b"".join(out)

    def _close(self) -> bytes:
        head = self._start
        self._start = b""
        if self._open is None:
            return head
        self._open = None
        return head + _event("content_block_stop", {"type": "content_block_stop", "index": self._block})

    def finish(self, final: router_pb2.ChatFinal, include_usage: bool) -> bytes:
        # Streamed answers cannot carry the cost in a header (headers go out first): Tokenyard's extension
        # on message_delta says what it cost, or that the cost is unknown.
        return (self._close() + _event("message_delta", {"type": "message_delta", "usage": anthropic_usage(final),
                                                         "delta": {"stop_reason": self._stop, "stop_sequence": None},
                                                         "tokenyard": routing_dict(final)})
                + _event("message_stop", {"type": "message_stop"}))

    def fail(self, final: router_pb2.ChatFinal | None, error: dict) -> bytes:
        return self._close() + _event("error", {"type": "error", "error": {"type": "api_error",
                                                                            "message": error.get("message", "")}})


class AnthropicMessages:
    name = "anthropic"
    error = staticmethod(anthropic_error)

    def parse(self, raw: bytes, request_id: str, caller: common_pb2.Caller) -> Parsed:
        try:
            body = MessagesRequest.model_validate_json(raw)
        except ValidationError as exc:
            message, param, code = describe(exc)
            raise Invalid(message, param, code) from None
        try:
            req = self._request(body, request_id, caller)
        except TypeError:  # an integer beyond 64 bits inside a free-form object (tool input, schema)
            raise Invalid("A value in the request cannot be represented (a number out of range?).") from None
        return Parsed(req, body.stream, True, estimate_tokens(req))

    @staticmethod
    def _request(body: MessagesRequest, request_id: str, caller: common_pb2.Caller) -> router_pb2.ChatRequest:
        req = router_pb2.ChatRequest(request_id=request_id, model=body.model, caller=caller,
                                     messages=_messages(body), max_tokens=body.max_tokens,
                                     tool_choice_json=_tool_choice(body.tool_choice))
        for t in body.tools or ():
            req.tools.add(type="function", name=t.name, description=t.description or "",
                          parameters_json=orjson.dumps(t.input_schema).decode())
        for name in ("temperature", "top_p"):
            if getattr(body, name) is not None:
                setattr(req, name, getattr(body, name))
        if body.stop_sequences:
            req.stop.extend(body.stop_sequences)
        if body.metadata and isinstance(body.metadata.get("user_id"), str):
            req.user = body.metadata["user_id"]
        if body.top_k is not None:
            req.extra_json = orjson.dumps({"top_k": body.top_k}).decode()
        return req

    def writer(self, parsed: Parsed, first: router_pb2.ChatResponse) -> _Writer:
        return _Writer(_new_id(), first.model or parsed.request.model)

    def body(self, parsed, first, messages, final) -> dict:
        text: list[str] = []
        calls: dict[int, dict] = {}
        stop = "end_turn"
        for msg in messages:
            for d in msg.deltas:
                if d.index != 0:
                    continue
                text.append(d.content)
                for t in d.tool_calls:
                    call = calls.setdefault(t.index, {"id": t.id, "name": t.name, "args": []})
                    call["id"], call["name"] = call["id"] or t.id, call["name"] or t.name
                    call["args"].append(t.arguments)
                if d.finish_reason:
                    stop = _STOP.get(d.finish_reason, "end_turn")
        content: list[dict] = [{"type": "text", "text": "".join(text)}] if "".join(text) else []
        for _, c in sorted(calls.items()):
            raw = "".join(c["args"]) or "{}"
            try:
                args = orjson.loads(raw)
            except orjson.JSONDecodeError:
                args = {"_raw": raw}
            content.append({"type": "tool_use", "id": c["id"], "name": c["name"], "input": args})
        return {"id": _new_id(), "type": "message", "role": "assistant", "model": first.model or parsed.request.model,
                "content": content, "stop_reason": stop, "stop_sequence": None,
                "usage": anthropic_usage(final)}


def anthropic_usage(final: router_pb2.ChatFinal) -> dict:
    """Anthropic's usage shape: input_tokens excludes cache reads and writes, which it reports apart
    (Tokenyard's prompt_tokens includes them, OpenAI's convention)."""
    u = final.usage
    return {"input_tokens": max(0, u.prompt_tokens - u.cached_tokens - u.cache_write_tokens),
            "cache_creation_input_tokens": u.cache_write_tokens, "cache_read_input_tokens": u.cached_tokens,
            "output_tokens": u.completion_tokens}


def _new_id() -> str:
    return new_id("msg_", 24)
