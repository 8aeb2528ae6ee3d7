"""ChatRequest (OpenAI-shaped) -> Anthropic Messages request body (`POST /v1/messages`).

System and developer messages are hoisted to `system`; tool calls become `tool_use` blocks and tool
results `tool_result` blocks in a user turn (consecutive same-role turns merged, as Anthropic requires
alternation); images become base64 or URL sources; `max_tokens` is required by Anthropic, so a default
fills in when the client set none.
"""
from __future__ import annotations

import orjson

from services.router.wire import message_to_dict, tool_to_dict
from tokenyard.router.v1 import router_pb2

DEFAULT_MAX_TOKENS = 4096


def to_anthropic_body(req: router_pb2.ChatRequest, upstream_model: str) -> dict:
    system, turns = [], []
    for m in req.messages:
        msg = message_to_dict(m)
        role = msg["role"]
        if role in ("system", "developer"):
            system.append(_text_of(msg.get("content")))
            continue
        blocks = _blocks(msg)
        anthropic_role = "assistant" if role == "assistant" else "user"
        if turns and turns[-1]["role"] == anthropic_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": anthropic_role, "content": blocks})
    body: dict = {"model": upstream_model, "messages": turns, "stream": True,
                  "max_tokens": _max_tokens(req)}
    if system:
        body["system"] = "\n\n".join(s for s in system if s)
    if req.HasField("temperature"):
        body["temperature"] = req.temperature
    if req.HasField("top_p"):
        body["top_p"] = req.top_p
    if req.stop:
        body["stop_sequences"] = list(req.stop)
    if req.user:
        body["metadata"] = {"user_id": req.user}
    if req.tools:
        body["tools"] = [_tool(tool_to_dict(t)) for t in req.tools]
    choice = _tool_choice(req)
    if choice is not None:
        body["tool_choice"] = choice
    return body


def _max_tokens(req: router_pb2.ChatRequest) -> int:
    if req.HasField("max_completion_tokens"):
        return req.max_completion_tokens
    if req.HasField("max_tokens"):
        return req.max_tokens
    return DEFAULT_MAX_TOKENS


def _text_of(content) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")


def _blocks(msg: dict) -> list[dict]:
    if msg["role"] == "tool":
        return [{"type": "tool_result", "tool_use_id": msg.get("tool_call_id", ""),
                 "content": _text_of(msg.get("content"))}]
    blocks: list[dict] = []
    content = msg.get("content")
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    elif content:
        for part in content:
            if part.get("type") == "text":
                blocks.append({"type": "text", "text": part.get("text", "")})
            elif part.get("type") == "image_url":
                blocks.append(_image((part.get("image_url") or {}).get("url", "")))
    for call in msg.get("tool_calls") or ():
        fn = call.get("function") or {}
        try:
            args = orjson.loads(fn.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            args = {}
        blocks.append({"type": "tool_use", "id": call.get("id", ""), "name": fn.get("name", ""), "input": args})
    return blocks


def _image(url: str) -> dict:
    if url.startswith("data:") and ";base64," in url:
        media_type, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _tool(t: dict) -> dict:
    fn = t.get("function") or {}
    out = {"name": fn.get("name", ""), "input_schema": fn.get("parameters") or {"type": "object", "properties": {}}}
    if fn.get("description"):
        out["description"] = fn["description"]
    return out


def _tool_choice(req: router_pb2.ChatRequest) -> dict | None:
    choice = orjson.loads(req.tool_choice_json) if req.tool_choice_json else None
    out: dict | None
    if choice is None or choice == "auto":
        out = {"type": "auto"} if req.tools else None
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, dict):
        out = {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
    else:
        out = None
    if out is not None and req.HasField("parallel_tool_calls") and not req.parallel_tool_calls \
            and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out
