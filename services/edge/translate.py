"""Validated OpenAI chat request -> router ChatRequest proto (and validation errors -> a named field)."""
from __future__ import annotations

import orjson
from pydantic import ValidationError

from services.edge.dialects.base import Invalid
from services.edge.schemas import ChatCompletionRequest, ChatMessage, Tool
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

_SCALARS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "presence_penalty",
            "frequency_penalty", "logprobs", "top_logprobs", "n", "parallel_tool_calls")
# Handled by the edge itself, never forwarded.
_EDGE_ONLY = frozenset({"stream", "stream_options"})


def field_path(loc: tuple) -> str:
    """('messages', 0, 'role') -> 'messages[0].role'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not (isinstance(part, str) and ("[" in part or part in {"str", "list[ContentPart]", "none"})):
            out += ("." if out else "") + str(part)
    return out


def describe(err: ValidationError) -> tuple[str, str, str]:
    """(message, param, code) for the first problem, in OpenAI's words."""
    first = err.errors(include_url=False)[0]
    param = field_path(first["loc"])
    if first["type"] == "missing":
        return f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    if first["type"] == "json_invalid":
        return "We could not parse the JSON body of your request. Send valid JSON.", None, "invalid_json"
    if first["type"] in ("model_type", "dict_type") and not param:
        return "The request body must be a JSON object.", None, "invalid_type"
    return f"Invalid value for '{param}': {first['msg']}.", param, "invalid_value"


def _json(value) -> str:
    try:
        return orjson.dumps(value).decode() if value else ""
    except TypeError:  # e.g. an integer beyond 64 bits inside a free-form object
        raise Invalid("A value in the request cannot be represented (a number out of range?).") from None


def _extra(model) -> str:
    return _json(model.model_extra) if model.model_extra else ""


def _message(m: ChatMessage) -> router_pb2.Message:
    out = router_pb2.Message(role=m.role, name=m.name or "", tool_call_id=m.tool_call_id or "", extra_json=_extra(m))
    if m.content is None:
        out.content_null = True
    elif isinstance(m.content, str):
        out.content = m.content
    else:
        for p in m.content:
            if p.type == "text" and not p.model_extra:
                out.parts.add(type="text", text=p.text or "")
            elif p.type == "image_url" and p.image_url is not None and not p.model_extra and not p.image_url.model_extra:
                out.parts.add(type="image_url", image_url=p.image_url.url, image_detail=p.image_url.detail or "")
            else:
                out.parts.add(type=p.type, text=p.text or "", extra_json=_json(p.model_dump(exclude_none=True)))
    for call in m.tool_calls or ():
        out.tool_calls.add(id=call.id, type=call.type, name=call.function.name, arguments=call.function.arguments)
    return out


def _tool(t: Tool) -> router_pb2.Tool:
    fn = t.function
    out = router_pb2.Tool(type=t.type, name=fn.name, description=fn.description or "",
                          parameters_json=_json(fn.parameters), extra_json=_extra(t))
    if fn.strict is not None:
        out.strict = fn.strict
    return out


def to_chat_request(body: ChatCompletionRequest, request_id: str, caller: common_pb2.Caller) -> router_pb2.ChatRequest:
    req = router_pb2.ChatRequest(
        request_id=request_id, model=body.model, messages=[_message(m) for m in body.messages],
        tools=[_tool(t) for t in body.tools or ()], user=body.user or "", caller=caller,
        tool_choice_json=_json(body.tool_choice), response_format_json=_json(body.response_format),
    )
    for name in _SCALARS:
        value = getattr(body, name)
        if value is not None:
            setattr(req, name, value)
    if body.stop is not None:
        req.stop.extend([body.stop] if isinstance(body.stop, str) else body.stop)
    if body.logit_bias:
        req.logit_bias.update(body.logit_bias)
    if body.metadata:
        req.metadata.update(body.metadata)
    extra = {k: v for k, v in (body.model_extra or {}).items() if k not in _EDGE_ONLY}
    if extra:
        req.extra_json = _json(extra)
    return req
