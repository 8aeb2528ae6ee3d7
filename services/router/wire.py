"""ChatRequest (proto) -> OpenAI chat request body: the inverse of the edge's translation.

Unmodelled fields arrive as `extra_json` and are merged back, so nothing a client sent is dropped.
"""
from __future__ import annotations

import orjson

from tokenyard.router.v1 import router_pb2

_OPTIONAL_SCALARS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "presence_penalty",
                     "frequency_penalty", "logprobs", "top_logprobs", "n", "parallel_tool_calls")


def _part(p: router_pb2.ContentPart) -> dict:
    if p.extra_json:
        return orjson.loads(p.extra_json)
    if p.type == "image_url":
        image = {"url": p.image_url}
        if p.image_detail:
            image["detail"] = p.image_detail
        return {"type": "image_url", "image_url": image}
    return {"type": p.type or "text", "text": p.text}


def message_to_dict(m: router_pb2.Message) -> dict:
    out: dict = orjson.loads(m.extra_json) if m.extra_json else {}
    out["role"] = m.role
    if m.parts:
        out["content"] = [_part(p) for p in m.parts]
    elif m.content_null:
        out["content"] = None
    else:
        out["content"] = m.content
    if m.name:
        out["name"] = m.name
    if m.tool_calls:
        out["tool_calls"] = [{"id": c.id, "type": c.type or "function",
                              "function": {"name": c.name, "arguments": c.arguments}} for c in m.tool_calls]
    if m.tool_call_id:
        out["tool_call_id"] = m.tool_call_id
    return out


def tool_to_dict(t: router_pb2.Tool) -> dict:
    out: dict = orjson.loads(t.extra_json) if t.extra_json else {}
    fn: dict = {"name": t.name}
    if t.description:
        fn["description"] = t.description
    if t.parameters_json:
        fn["parameters"] = orjson.loads(t.parameters_json)
    if t.HasField("strict"):
        fn["strict"] = t.strict
    out.update({"type": t.type or "function", "function": fn})
    return out


def to_openai_body(req: router_pb2.ChatRequest, upstream_model: str, stream: bool = True) -> dict:
    """The body to POST to an OpenAI-compatible /chat/completions: streaming with usage, or, for a
    client that did not stream, one answer (`stream=False`), since some servers (llama.cpp's) report
    exact usage only there."""
    body: dict = orjson.loads(req.extra_json) if req.extra_json else {}
    body["model"] = upstream_model
    body["messages"] = [message_to_dict(m) for m in req.messages]
    body["stream"] = stream
    if stream:
        # Ask for usage in the stream; upstreams that ignore it get their tokens counted by the router.
        body["stream_options"] = {**body.get("stream_options", {}), "include_usage": True}
    else:
        body.pop("stream_options", None)
    for name in _OPTIONAL_SCALARS:
        if req.HasField(name):
            body[name] = getattr(req, name)
    if req.tools:
        body["tools"] = [tool_to_dict(t) for t in req.tools]
    if req.tool_choice_json:
        body["tool_choice"] = orjson.loads(req.tool_choice_json)
    if req.response_format_json:
        body["response_format"] = orjson.loads(req.response_format_json)
    if req.stop:
        body["stop"] = list(req.stop)
    if req.logit_bias:
        body["logit_bias"] = dict(req.logit_bias)
    if req.user:
        body["user"] = req.user
    if req.metadata:
        body["metadata"] = dict(req.metadata)
    return body


def embed_body(req: router_pb2.EmbedRequest, upstream_model: str) -> dict:
    """The body to POST to an OpenAI-compatible /embeddings. Always asks for floats: the router returns
    float32 values and the edge encodes base64 when the client wants it."""
    body: dict = orjson.loads(req.extra_json) if req.extra_json else {}
    inputs = [list(i.tokens) if i.tokens else i.text for i in req.inputs]
    body.update({"model": upstream_model, "input": inputs, "encoding_format": "float"})
    if req.HasField("dimensions"):
        body["dimensions"] = req.dimensions
    if req.user:
        body["user"] = req.user
    return body
