"""Router chat deltas -> Anthropic Messages output: the SSE events (message_start, content_block_start/
delta/stop, message_delta, message_stop) and the assembled non-streaming message.

Content blocks follow the deltas in order: thinking (with its signature), redacted_thinking, text and
each tool call open a block of their own and close it when the next begins, so a client can send the
thinking blocks back verbatim on its next turn (Anthropic requires that for tool use with thinking).
"""
from __future__ import annotations

import orjson

from services.edge.completions_format import routing_dict
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal",
        "function_call": "tool_use"}


def anthropic_usage(u: common_pb2.Usage) -> dict:
    """Anthropic counts cache reads and writes apart from `input_tokens`; the router's prompt_tokens holds all."""
    fresh = max(0, u.prompt_tokens - u.cached_tokens - u.cache_write_tokens)
    return {"input_tokens": fresh, "output_tokens": u.completion_tokens,
            "cache_creation_input_tokens": u.cache_write_tokens, "cache_read_input_tokens": u.cached_tokens}


def _event(name: str, data: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class BlockBuilder:
    """Turns deltas into content blocks in order; reports each step so the writer can stream it."""

    def __init__(self) -> None:
        self.blocks: list[dict] = []
        self.stop = "end_turn"
        self._open: str | None = None  # "thinking", "thinking-signed", "redacted", "text" or "tool:<index>"
        self._args: dict[int, list[str]] = {}

    def feed(self, msg: router_pb2.ChatResponse, on_start, on_delta) -> None:
        """`on_start(index, block)` when a block opens, `on_delta(index, delta)` for what it gains."""
        for d in msg.deltas:
            if d.index != 0:
                continue  # Anthropic has no n>1
            if d.redacted_reasoning:
                self._switch("redacted", {"type": "redacted_thinking", "data": d.redacted_reasoning}, on_start)
            if d.reasoning or d.reasoning_signature:
                # New thinking text after a signature is a new block; a signature's later piece is not.
                if self._open != "thinking" and (d.reasoning or self._open != "thinking-signed"):
                    self._switch("thinking", {"type": "thinking", "thinking": "", "signature": ""}, on_start, force=True)
                block = self.blocks[-1]
                if d.reasoning:
                    block["thinking"] += d.reasoning
                    on_delta(len(self.blocks) - 1, {"type": "thinking_delta", "thinking": d.reasoning})
                if d.reasoning_signature:
                    block["signature"] += d.reasoning_signature
                    on_delta(len(self.blocks) - 1, {"type": "signature_delta", "signature": d.reasoning_signature})
                    self._open = "thinking-signed"  # the next thinking is another block
            if d.content:
                self._switch("text", {"type": "text", "text": ""}, on_start)
                self.blocks[-1]["text"] += d.content
                on_delta(len(self.blocks) - 1, {"type": "text_delta", "text": d.content})
            for t in d.tool_calls:
                self._switch(f"tool:{t.index}", {"type": "tool_use", "id": t.id, "name": t.name, "input": {}}, on_start)
                if t.arguments:
                    self._args.setdefault(len(self.blocks) - 1, []).append(t.arguments)
                    on_delta(len(self.blocks) - 1, {"type": "input_json_delta", "partial_json": t.arguments})
            if d.finish_reason:
                self.stop = STOP.get(d.finish_reason, "end_turn")

    def _switch(self, kind: str, start: dict, on_start, force: bool = False) -> None:
        if self._open == kind and not force:
            return
        self._open = kind
        self.blocks.append(dict(start))
        on_start(len(self.blocks) - 1, start)

    def content(self) -> list[dict]:
        """The finished blocks, tool inputs parsed (an unparsable input is kept as `{"_raw": ...}`)."""
        out = []
        for i, block in enumerate(self.blocks):
            if block["type"] == "tool_use":
                raw = "".join(self._args.get(i, ())) or "{}"
                try:
                    block = {**block, "input": orjson.loads(raw)}
                except orjson.JSONDecodeError:
                    block = {**block, "input": {"_raw": raw}}
            out.append(block)
        return out


class AnthropicWriter:
    """The SSE stream of one answer."""

    def __init__(self, message_id: str, model: str) -> None:
        self._start = _event("message_start", {"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0}}})
        self._blocks = BlockBuilder()
        self._out: list[bytes] = []
        self._current = -1

    def _on_start(self, index: int, block: dict) -> None:
        self._close_current()
        self._current = index
        self._out.append(_event("content_block_start", {"type": "content_block_start", "index": index,
                                                        "content_block": block}))

    def _on_delta(self, index: int, delta: dict) -> None:
        self._out.append(_event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))

    def _close_current(self) -> None:
        if self._current >= 0:
            self._out.append(_event("content_block_stop", {"type": "content_block_stop", "index": self._current}))
            self._current = -1

    def _drain(self) -> bytes:
        head, self._start = self._start, b""
        out, self._out = self._out, []
        return head + b"".join(out)

    def chunk(self, msg: router_pb2.ChatResponse) -> bytes:
        self._blocks.feed(msg, self._on_start, self._on_delta)
        return self._drain()

    def finish(self, final: router_pb2.ChatFinal, include_usage: bool) -> bytes:
        self._close_current()
        # Streamed answers cannot carry the cost in a header (headers go out first): Tokenyard's extension
        # on message_delta says what it cost, or that the cost is unknown.
        self._out.append(_event("message_delta", {"type": "message_delta", "usage": anthropic_usage(final.usage),
                                                  "delta": {"stop_reason": self._blocks.stop, "stop_sequence": None},
                                                  "tokenyard": routing_dict(final)}))
        self._out.append(_event("message_stop", {"type": "message_stop"}))
        return self._drain()

    def fail(self, final: router_pb2.ChatFinal | None, error: dict) -> bytes:
        self._close_current()
        self._out.append(_event("error", {"type": "error", "error": {"type": "api_error",
                                                                     "message": error.get("message", "")}}))
        return self._drain()


def assemble(message_id: str, model: str, messages: list[router_pb2.ChatResponse], final: router_pb2.ChatFinal) -> dict:
    """The non-streaming message: the same blocks the stream would have carried."""
    blocks = BlockBuilder()
    for msg in messages:
        blocks.feed(msg, lambda *_: None, lambda *_: None)
    return {"id": message_id, "type": "message", "role": "assistant", "model": model, "content": blocks.content(),
            "stop_reason": blocks.stop, "stop_sequence": None, "usage": anthropic_usage(final.usage)}
