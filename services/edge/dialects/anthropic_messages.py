"""Anthropic Messages inbound (`/v1/messages`), so the official `anthropic` SDK works against Tokenyard.

Requests become the router's OpenAI-shaped ChatRequest (system prompt first, `role: "system"` messages
in place, tool_use/tool_result blocks as tool calls and tool messages, images as data URLs, text
documents as text; thinking, server-tool and other blocks without a chat meaning are dropped) and also
travel verbatim as the native body, which an Anthropic upstream receives untouched (cache_control,
thinking, top_k, output_config, context_management, `anthropic-beta`: see
services/router/providers/anthropic_passthrough.py). The stream comes back as Anthropic's events
(message_start, content_block_start/delta/stop, message_delta, message_stop) and errors in Anthropic's
shape `{"type": "error", "error": {"type", "message"}, "request_id"}`.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from services.common.ids import new_id
from services.edge.dialects.anthropic_events import AnthropicWriter, assemble
from services.edge.dialects.base import Invalid, Parsed, estimate_tokens
from services.edge.schemas import TokenCount
from services.edge.translate import describe
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

NATIVE_DIALECT = "anthropic.messages"
_NATIVE_HEADERS = ("anthropic-beta",)
# Anthropic's error types by status (https://docs.anthropic.com/en/api/errors); clients branch on them.
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                502: "api_error", 503: "overloaded_error", 504: "timeout_error", 529: "overloaded_error"}


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
    role: Literal["user", "assistant", "system"]
    content: StrictStr | list[Block]


class ATool(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: Annotated[str, Field(min_length=1, max_length=128)]
    type: StrictStr | None = None
    """Absent or "custom" for a client tool; a server tool's versioned type (`web_search_20250305`...) else."""
    description: StrictStr | None = None
    input_schema: dict[str, Any] | None = None


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


class CountTokensRequest(MessagesRequest):
    """`/v1/messages/count_tokens` takes a message request without `max_tokens`."""
    max_tokens: TokenCount | None = None


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
        if m.role == "system":  # mid-conversation system turn (Anthropic accepts it; Claude Code sends it)
            out.append(router_pb2.Message(role="system", content=_text(m.content)))
            continue
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
            elif b.type == "document" and b.source and b.source.get("type") == "text":
                msg.parts.add(type="text", text=str(b.source.get("data") or ""))
            elif b.type == "document" and b.source and b.source.get("type") == "base64":
                msg.parts.add(type="file", extra_json=orjson.dumps({"type": "file", "file": {
                    "file_data": f"data:{b.source.get('media_type')};base64,{b.source.get('data')}",
                    "filename": str(b.model_extra.get("title") or "document")}}).decode())
            # thinking, redacted_thinking, server tool blocks, search results...: no chat meaning; an
            # Anthropic upstream gets them in the native body.
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
    body = {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": error.get("message", "")},
            "request_id": (headers or {}).get("x-tokenyard-request-id") or (headers or {}).get("x-request-id")}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)


def describe_anthropic(exc: ValidationError) -> tuple[str, str, str]:
    """(message, param, code) in Anthropic's words: `max_tokens: Field required`, `messages.0.role: ...`."""
    message, param, code = describe(exc)
    first = exc.errors(include_url=False)[0]
    if param and first["type"] not in ("json_invalid",):
        dotted = ".".join(str(p) for p in first["loc"] if not (isinstance(p, str) and "[" in p))
        message = f"{dotted}: {'Field required' if first['type'] == 'missing' else first['msg']}"
    elif code == "invalid_json":
        message = "There was an error parsing the body of your request as JSON."
    return message, param, code


def native_headers(headers) -> dict[str, str]:
    """The client headers an Anthropic upstream understands (allow-listed; never credentials)."""
    return {h: headers[h] for h in _NATIVE_HEADERS if headers.get(h)}


class AnthropicMessages:
    """One instance per request: it carries the client's allow-listed headers, and the model asked for
    (Anthropic's wording for an unknown model names it: `model: claude-x`)."""

    name = "anthropic"

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self._headers = headers or {}
        """Allow-listed client headers (native_headers) that travel with the native body."""
        self._model = ""

    def error(self, status: int, error: dict, headers: dict | None = None) -> web.Response:
        if error.get("code") == "model_not_found" and self._model:
            error = {**error, "message": f"model: {self._model}"}
        return anthropic_error(status, error, headers)

    def validate(self, raw: bytes, schema: type[MessagesRequest] = MessagesRequest) -> MessagesRequest:
        try:
            return schema.model_validate_json(raw)
        except ValidationError as exc:
            raise Invalid(*describe_anthropic(exc)) from None

    def parse(self, raw: bytes, request_id: str, caller: common_pb2.Caller,
              schema: type[MessagesRequest] = MessagesRequest) -> Parsed:
        body = self.validate(raw, schema)
        self._model = body.model
        try:
            req = self._request(body, request_id, caller)
        except TypeError:  # an integer beyond 64 bits inside a free-form object (tool input, schema)
            raise Invalid("A value in the request cannot be represented (a number out of range?).") from None
        req.native.dialect, req.native.body_json = NATIVE_DIALECT, raw.decode()
        req.native.headers.update(self._headers)
        return Parsed(req, body.stream, True, estimate_tokens(req))

    @staticmethod
    def _request(body: MessagesRequest, request_id: str, caller: common_pb2.Caller) -> router_pb2.ChatRequest:
        req = router_pb2.ChatRequest(request_id=request_id, model=body.model, caller=caller,
                                     messages=_messages(body), max_tokens=body.max_tokens,
                                     tool_choice_json=_tool_choice(body.tool_choice))
        for i, t in enumerate(body.tools or ()):
            if t.type not in (None, "custom"):
                continue  # a server tool (web search, code execution...): only Anthropic runs it, natively
            if t.input_schema is None:
                raise Invalid(f"tools.{i}.custom.input_schema: Field required", f"tools[{i}].input_schema")
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

    def writer(self, parsed: Parsed, first: router_pb2.ChatResponse) -> AnthropicWriter:
        return AnthropicWriter(_new_id(), first.model or parsed.request.model)

    def body(self, parsed, first, messages, final) -> dict:
        return assemble(_new_id(), first.model or parsed.request.model, messages, final)


def _new_id() -> str:
    return new_id("msg_", 24)
