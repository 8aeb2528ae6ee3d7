"""Router chat deltas -> OpenAI Responses output: the streamed events and the final `response` object.

The way back of the Responses -> chat pair. One builder serves both modes (the non-streaming body is
the stream's final `response`, events discarded), so the two can never disagree. Event order follows
what the `openai` SDK's stream accumulator expects:

response.created, response.in_progress, then per output item: output_item.added, (message)
content_part.added, output_text.delta..., output_text.done, content_part.done, (function call)
function_call_arguments.delta..., function_call_arguments.done, (custom tool) custom_tool_call_input.delta
and .done, then output_item.done; finally response.completed (or response.incomplete at a length stop;
after a failure mid-stream an `error` event and response.failed, never a clean end). Every event carries
a sequence number counting from 0.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import orjson

from services.edge.dialects.responses_request import ToolBook
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

IdMaker = Callable[[str], str]


def usage_of(u: common_pb2.Usage) -> dict:
    return {"input_tokens": u.prompt_tokens,
            "input_tokens_details": {"cached_tokens": u.cached_tokens, "cache_write_tokens": u.cache_write_tokens},
            "output_tokens": u.completion_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": u.total_tokens}


class ResponseBuilder:
    """Consumes router messages, returns SSE bytes, and keeps the `response` object they describe."""

    def __init__(self, skeleton: dict, book: ToolBook, new_id: IdMaker, clock: Callable[[], float] = time.time) -> None:
        self.response = {**skeleton, "status": "in_progress", "output": [], "usage": None,
                         "created_at": int(clock()), "completed_at": None}
        self._book, self._new_id, self._clock = book, new_id, clock
        self._seq = 0
        self._started = False
        self._text: dict | None = None  # the open message item
        self._calls: dict[int, dict] = {}  # chat tool-call index -> open call item
        self._finish = ""

    def _event(self, kind: str, **data) -> bytes:
        payload = {"type": kind, "sequence_number": self._seq, **data}
        self._seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    def _start(self, out: list[bytes]) -> None:
        if not self._started:
            self._started = True
            out.append(self._event("response.created", response=self.response))
            out.append(self._event("response.in_progress", response=self.response))

    def _index(self, item: dict) -> int:
        return self.response["output"].index(item)

    def _open_text(self, out: list[bytes]) -> dict:
        if self._text is None:
            self._text = {"id": self._new_id("msg_"), "type": "message", "role": "assistant", "status": "in_progress",
                          "content": []}
            self.response["output"].append(self._text)
            out.append(self._event("response.output_item.added", output_index=self._index(self._text),
                                   item={**self._text, "content": []}))
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            self._text["content"].append(part)
            out.append(self._event("response.content_part.added", item_id=self._text["id"],
                                   output_index=self._index(self._text), content_index=0, part=dict(part)))
        return self._text

    def _close_text(self, out: list[bytes], status: str = "completed") -> None:
        item, self._text = self._text, None
        if item is None:
            return
        idx, part = self._index(item), item["content"][0]
        out.append(self._event("response.output_text.done", item_id=item["id"], output_index=idx, content_index=0,
                               text=part["text"], logprobs=[]))
        out.append(self._event("response.content_part.done", item_id=item["id"], output_index=idx, content_index=0,
                               part=part))
        item["status"] = status
        out.append(self._event("response.output_item.done", output_index=idx, item=item))

    def _open_call(self, d: router_pb2.ToolCallDelta, out: list[bytes]) -> dict:
        call = self._calls.get(d.index)
        if call is None:
            self._close_text(out)
            name, namespace = self._book.original(d.name)
            custom = d.name in self._book.custom
            call = {"id": self._new_id("ctc_" if custom else "fc_"), "type": "custom_tool_call" if custom else "function_call",
                    "status": "in_progress", "call_id": d.id or self._new_id("call_"), "name": name,
                    **({"input": ""} if custom else {"arguments": ""}), **({"namespace": namespace} if namespace else {})}
            call["_args"] = []
            self._calls[d.index] = call
            self.response["output"].append(call)
            out.append(self._event("response.output_item.added", output_index=self._index(call), item=_public(call)))
        return call

    def chunk(self, msg: router_pb2.ChatResponse) -> bytes:
        out: list[bytes] = []
        self._start(out)
        for d in msg.deltas:
            if d.index != 0:
                continue  # the Responses API has no n>1
            text = d.content or d.refusal
            if text:
                item = self._open_text(out)
                item["content"][0]["text"] += text
                out.append(self._event("response.output_text.delta", item_id=item["id"], output_index=self._index(item),
                                       content_index=0, delta=text, logprobs=[]))
            for t in d.tool_calls:
                call = self._open_call(t, out)
                if t.arguments:
                    call["_args"].append(t.arguments)
                    if call["type"] == "function_call":
                        out.append(self._event("response.function_call_arguments.delta", item_id=call["id"],
                                               output_index=self._index(call), delta=t.arguments))
            if d.finish_reason:
                self._finish = d.finish_reason
        return b"".join(out)

    def _close_calls(self, out: list[bytes], status: str) -> None:
        for _, call in sorted(self._calls.items()):
            raw, idx = "".join(call.pop("_args")), self._index(call)
            if call["type"] == "function_call":
                call["arguments"] = raw
                out.append(self._event("response.function_call_arguments.done", item_id=call["id"], output_index=idx,
                                       name=call["name"], arguments=raw))
            else:
                try:
                    value = orjson.loads(raw or "{}")
                    call["input"] = str(value.get("input", "")) if isinstance(value, dict) else raw
                except orjson.JSONDecodeError:
                    call["input"] = raw
                out.append(self._event("response.custom_tool_call_input.delta", item_id=call["id"], output_index=idx,
                                       delta=call["input"]))
                out.append(self._event("response.custom_tool_call_input.done", item_id=call["id"], output_index=idx,
                                       input=call["input"]))
            call["status"] = status
            out.append(self._event("response.output_item.done", output_index=idx, item=call))
        self._calls = {}

    def finish(self, final: router_pb2.ChatFinal, include_usage: bool = True) -> bytes:
        out: list[bytes] = []
        self._start(out)
        incomplete = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(self._finish)
        status = "incomplete" if incomplete else "completed"
        self._close_text(out, status)
        self._close_calls(out, status)
        self.response.update(status=status, usage=usage_of(final.usage), completed_at=int(self._clock()),
                             incomplete_details={"reason": incomplete} if incomplete else None)
        out.append(self._event(f"response.{status}", response=self.response))
        return b"".join(out)

    def fail(self, final: router_pb2.ChatFinal | None, error: dict) -> bytes:
        out: list[bytes] = []
        self._start(out)
        self._close_text(out, "incomplete")
        self._close_calls(out, "incomplete")
        code, message = error.get("code") or "server_error", error.get("message") or "The response failed."
        # `response.error.code` is an enum in the API (clients validate it); the precise code is on `error`.
        kind = "rate_limit_exceeded" if "rate_limit" in code or "quota" in code else "server_error"
        self.response.update(status="failed", error={"code": kind, "message": message},
                             usage=usage_of(final.usage) if final is not None else None)
        out.append(self._event("error", code=code, message=message, param=None))
        out.append(self._event("response.failed", response=self.response))
        return b"".join(out)


def _public(call: dict) -> dict:
    return {k: v for k, v in call.items() if not k.startswith("_")}
