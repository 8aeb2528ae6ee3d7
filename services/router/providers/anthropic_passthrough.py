"""Anthropic Messages -> Anthropic Messages: the passthrough translator.

A request that came in as Anthropic Messages (the edge's `/v1/messages`) carries its body verbatim
(`ChatRequest.native`); to an Anthropic upstream it goes as it came, so what the chat-shaped proto
does not model (cache_control on any block, thinking and redacted_thinking blocks, documents,
server tools, top_k, metadata, output_config, context_management, mid-conversation system turns...)
is not lost. Only what the router owns is set: the upstream's model name, `stream` (the router always
streams), and `max_tokens` when admission capped it to what the budget affords. The client's
`anthropic-beta` header goes along; nothing else of the client's headers does.
"""
from __future__ import annotations

import orjson

from tokenyard.router.v1 import router_pb2

NATIVE_DIALECT = "anthropic.messages"
FORWARDED_HEADERS = frozenset({"anthropic-beta"})


def native_body(req: router_pb2.ChatRequest, upstream_model: str, *, streaming: bool = True) -> dict | None:
    """The client's own body for this upstream, or None when the request did not come in as Anthropic."""
    if req.native.dialect != NATIVE_DIALECT or not req.native.body_json:
        return None
    body = orjson.loads(req.native.body_json)
    if not isinstance(body, dict):
        return None
    body["model"] = upstream_model
    if streaming:
        body["stream"] = True
    if req.HasField("max_tokens") and isinstance(body.get("max_tokens"), int) and req.max_tokens < body["max_tokens"]:
        body["max_tokens"] = req.max_tokens  # the budget cap the edge applied
    return body


def count_body(req: router_pb2.ChatRequest, upstream_model: str) -> dict | None:
    """The body for `POST /v1/messages/count_tokens`: the native body without what that endpoint refuses."""
    body = native_body(req, upstream_model, streaming=False)
    if body is None:
        return None
    for name in ("max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata",
                 "service_tier", "container", "mcp_servers"):
        body.pop(name, None)
    return body


def native_headers(req: router_pb2.ChatRequest) -> dict[str, str]:
    """The allow-listed client headers of a native request."""
    if req.native.dialect != NATIVE_DIALECT:
        return {}
    return {k: v for k, v in req.native.headers.items() if k.lower() in FORWARDED_HEADERS}
