"""Turns a batch of OpenAI chunk dicts into one ChatResponse, merging deltas per choice (the one answer of
a non-streamed request is assembled by `answer.AnswerBuilder`).

A gRPC message costs about as much CPU as relaying its token, so everything the router has already
read goes out as one message: consecutive content is concatenated, a tool call's argument pieces
are joined, and the stream's text is kept for counting tokens when the upstream reports none.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from tokenyard.router.v1 import router_pb2


@dataclass
class StreamState:
    """What the router knows about one request's stream so far."""

    id: str = ""
    model: str = ""
    created: int = 0
    header_sent: bool = False
    text: list[str] = field(default_factory=list)
    usage: dict | None = None
    system_fingerprint: str = ""
    finish_reasons: dict[int, str] = field(default_factory=dict)


def has_output(batch: list[dict]) -> bool:
    """True once a batch carries something the client must not see twice: text, a tool call, a finish."""
    for chunk in batch:
        for c in chunk.get("choices") or ():
            d = c.get("delta") or {}
            if d.get("content") or d.get("tool_calls") or d.get("refusal") or c.get("finish_reason"):
                return True
    return False


def to_response(batch: list[dict], state: StreamState) -> router_pb2.ChatResponse | None:
    """The message for this batch, or None when it carries nothing to send (e.g. a usage-only chunk).

    Pieces are collected per choice and joined once: appending to a protobuf string copies it each time."""
    resp = router_pb2.ChatResponse()
    merged: dict[int, _Pieces] = {}
    for chunk in batch:
        if not state.id:
            state.id, state.model, state.created = chunk.get("id") or "", chunk.get("model") or "", chunk.get("created") or 0
        if chunk.get("usage"):
            state.usage = chunk["usage"]
        if chunk.get("system_fingerprint"):
            state.system_fingerprint = chunk["system_fingerprint"]
        for c in chunk.get("choices") or ():
            idx = c.get("index") or 0
            p = merged.get(idx)
            if p is None:
                p = merged[idx] = _Pieces(resp.deltas.add(index=idx))
            p.merge(c, state)
    for p in merged.values():
        p.flush()
    if not state.header_sent:
        resp.id, resp.model, resp.created = state.id, state.model, state.created
        state.header_sent = True
    elif not merged:
        return None
    return resp


class _Pieces:
    """One choice's delta in a batch, with its text pieces held until `flush` writes them once."""

    __slots__ = ("d", "content", "refusal", "args", "logprobs")

    def __init__(self, d: router_pb2.ChoiceDelta) -> None:
        self.d = d
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.args: list[list[str]] = []
        self.logprobs: list | None = None

    def merge(self, c: dict, state: StreamState) -> None:
        d, delta = self.d, c.get("delta") or {}
        if delta.get("role") and not d.role:
            d.role = delta["role"]
        content = delta.get("content")
        if content:
            self.content.append(content)
            state.text.append(content)
        if delta.get("refusal"):
            self.refusal.append(delta["refusal"])
        for tc in delta.get("tool_calls") or ():
            fn = tc.get("function") or {}
            args = fn.get("arguments") or ""
            index = tc.get("index", 0)
            last = d.tool_calls[-1] if d.tool_calls else None
            if last is not None and last.index == index and not tc.get("id"):
                self.args[-1].append(args)
            else:
                d.tool_calls.add(index=index, id=tc.get("id") or "", type=tc.get("type") or "",
                                 name=fn.get("name") or "")
                self.args.append([args])
            state.text.append(args)
        if c.get("finish_reason"):
            d.finish_reason = c["finish_reason"]
            state.finish_reasons[d.index] = d.finish_reason
        if c.get("logprobs"):
            # Keep every logprob entry of the merged deltas, in order.
            if self.logprobs is None:
                self.logprobs = []
            self.logprobs.extend((c["logprobs"] or {}).get("content") or [])

    def flush(self) -> None:
        d = self.d
        d.content, d.refusal = "".join(self.content), "".join(self.refusal)
        for tc, pieces in zip(d.tool_calls, self.args):
            tc.arguments = "".join(pieces)
        if self.logprobs is not None:
            d.logprobs_json = orjson.dumps({"content": self.logprobs}).decode()
