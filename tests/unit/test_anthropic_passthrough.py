"""Anthropic -> Anthropic: the client's own body reaches an Anthropic upstream unchanged except for what
the router owns (model, stream, a budget-capped max_tokens); count_tokens gets the body without the
fields that endpoint refuses; only allow-listed headers travel."""
from __future__ import annotations

import orjson

from services.router.providers.anthropic_passthrough import count_body, native_body, native_headers
from tokenyard.router.v1 import router_pb2

BODY = {"model": "claude-opus-4-8", "max_tokens": 1000, "stream": False, "top_k": 3,
        "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "text", "data": "d"},
                                                   "cache_control": {"type": "ephemeral", "ttl": "1h"}}]},
                     {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "sig"},
                                                       {"type": "redacted_thinking", "data": "x"}]},
                     {"role": "system", "content": "mid"}, {"role": "user", "content": "go"}],
        "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]}, "metadata": {"user_id": "u"},
        "tools": [{"type": "web_search_20250305", "name": "web_search"}], "service_tier": "auto"}


def native(body: dict = BODY, headers: dict | None = None, **fields) -> router_pb2.ChatRequest:
    req = router_pb2.ChatRequest(model="claude-opus-4-8", **fields)
    req.native.dialect, req.native.body_json = "anthropic.messages", orjson.dumps(body).decode()
    req.native.headers.update(headers or {})
    return req


def test_every_field_passes_and_the_router_sets_model_and_stream():
    sent = native_body(native(), "claude-opus-4-8-20260101")
    assert sent == {**BODY, "model": "claude-opus-4-8-20260101", "stream": True}


def test_a_budget_cap_lowers_max_tokens_never_raises_it():
    assert native_body(native(max_tokens=200), "m")["max_tokens"] == 200
    assert native_body(native(max_tokens=5000), "m")["max_tokens"] == 1000


def test_a_translated_request_has_no_native_body():
    assert native_body(router_pb2.ChatRequest(model="m"), "m") is None
    other = router_pb2.ChatRequest(model="m")
    other.native.dialect, other.native.body_json = "openai.responses", "{}"
    assert native_body(other, "m") is None and native_headers(other) == {}


def test_count_body_drops_what_count_tokens_refuses():
    sent = count_body(native(), "m")
    assert "max_tokens" not in sent and "stream" not in sent and "top_k" not in sent and "metadata" not in sent
    assert sent["messages"] == BODY["messages"] and sent["thinking"] == BODY["thinking"]
    assert sent["tools"] == BODY["tools"] and sent["system"] == BODY["system"]


def test_only_allow_listed_headers_travel():
    req = native(headers={"anthropic-beta": "context-1m-2025-08-07", "x-api-key": "sk-client"})
    assert native_headers(req) == {"anthropic-beta": "context-1m-2025-08-07"}
