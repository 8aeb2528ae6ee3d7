"""Turns a batch of OpenAI chunk dicts into one ChatResponse, merging deltas per choice.

A gRPC message costs about as much CPU as relaying its token, so everything the router has already
read goes out as one message: consecutive content is concatenated, a tool call's argument pieces
are joined, and the stream's text is kept for counting tokens when the upstream reports none.
Reasoning (thinking) blocks are ordered: a block that begins after content, a tool call or another
block's signature starts a new delta of the same choice, so a client sees thinking, text and tool
calls in the order the upstream sent them.
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
            if d.get("content") or d.get("tool_calls") or d.get("refusal") or c.get("finish_reason") \
                    or d.get("reasoning_content") or d.get("redacted_reasoning"):
                return True
    return False


def to_response(batch: list[dict], state: StreamState) -> router_pb2.ChatResponse | None:
    """The message for this batch, or None when it carries nothing to send (e.g. a usage-only chunk)."""
    resp = router_pb2.ChatResponse()
    merged: dict[int, router_pb2.ChoiceDelta] = {}
    for chunk in batch:
        if not state.id:
            state.id, state.model, state.created = chunk.get("id") or "", chunk.get("model") or "", chunk.get("created") or 0
        if chunk.get("usage"):
            state.usage = chunk["usage"]
        if chunk.get("system_fingerprint"):
            state.system_fingerprint = chunk["system_fingerprint"]
        for c in chunk.get("choices") or ():
            idx = c.get("index") or 0
            d = merged.get(idx)
            if d is None or _starts_block(d, c.get("delta") or {}):
                d = merged[idx] = resp.deltas.add(index=idx)
            _merge(d, c, state)
    if not state.header_sent:
        resp.id, resp.model, resp.created = state.id, state.model, state.created
        state.header_sent = True
    elif not merged:
        return None
    return resp


def _starts_block(d: router_pb2.ChoiceDelta, delta: dict) -> bool:
    """True when `delta` begins a reasoning block that must not merge into `d` (see the module doc)."""
    if delta.get("redacted_reasoning"):
        return bool(d.reasoning or d.reasoning_signature or d.redacted_reasoning or d.content or d.tool_calls)
    if delta.get("reasoning_content"):
        return bool(d.reasoning_signature or d.redacted_reasoning or d.content or d.tool_calls)
    return False


def _split(d: router_pb2.ChoiceDelta, into: router_pb2.ChoiceDelta) -> bool:
    """The same test between two router deltas (`Complete` merging streamed messages)."""
    if d.redacted_reasoning:
        return bool(into.reasoning or into.reasoning_signature or into.redacted_reasoning or into.content
                    or into.tool_calls)
    if d.reasoning:
        return bool(into.reasoning_signature or into.redacted_reasoning or into.content or into.tool_calls)
    return False


def _merge(d: router_pb2.ChoiceDelta, c: dict, state: StreamState) -> None:
    delta = c.get("delta") or {}
    if delta.get("role") and not d.role:
        d.role = delta["role"]
    if delta.get("reasoning_content"):
        d.reasoning += delta["reasoning_content"]
        state.text.append(delta["reasoning_content"])
    if delta.get("reasoning_signature"):
        d.reasoning_signature += delta["reasoning_signature"]
    if delta.get("redacted_reasoning"):
        d.redacted_reasoning = delta["redacted_reasoning"]
    content = delta.get("content")
    if content:
        d.content += content
        state.text.append(content)
    if delta.get("refusal"):
        d.refusal += delta["refusal"]
    for tc in delta.get("tool_calls") or ():
        fn = tc.get("function") or {}
        args = fn.get("arguments") or ""
        index = tc.get("index", 0)
        last = d.tool_calls[-1] if d.tool_calls else None
        if last is not None and last.index == index and not tc.get("id"):
            last.arguments += args
        else:
            d.tool_calls.add(index=index, id=tc.get("id") or "", type=tc.get("type") or "",
                             name=fn.get("name") or "", arguments=args)
        state.text.append(args)
    if c.get("finish_reason"):
        d.finish_reason = c["finish_reason"]
        state.finish_reasons[d.index] = d.finish_reason
    if c.get("logprobs"):
        # Keep every logprob entry of the merged deltas, in order.
        prior = orjson.loads(d.logprobs_json) if d.logprobs_json else {"content": []}
        prior["content"].extend((c["logprobs"] or {}).get("content") or [])
        d.logprobs_json = orjson.dumps(prior).decode()


def merge_response(answer: router_pb2.ChatResponse, msg: router_pb2.ChatResponse) -> None:
    """Adds one streamed message to the single answer `Complete` returns: deltas merged per choice the way
    `to_response` merges chunks, the header of the first message kept, `final` taken from the last."""
    if msg.id and not answer.id:
        answer.id, answer.model, answer.created = msg.id, msg.model, msg.created
    for d in msg.deltas:
        into = next((a for a in reversed(answer.deltas) if a.index == d.index), None)
        if into is None or _split(d, into):
            answer.deltas.add().CopyFrom(d)
            continue
        if d.role and not into.role:
            into.role = d.role
        into.reasoning += d.reasoning
        into.reasoning_signature += d.reasoning_signature
        into.content += d.content
        into.refusal += d.refusal
        for tc in d.tool_calls:
            last = into.tool_calls[-1] if into.tool_calls else None
            if last is not None and last.index == tc.index and not tc.id:
                last.arguments += tc.arguments
            else:
                into.tool_calls.add().CopyFrom(tc)
        if d.finish_reason:
            into.finish_reason = d.finish_reason
        if d.logprobs_json:
            prior = orjson.loads(into.logprobs_json) if into.logprobs_json else {"content": []}
            prior["content"].extend(orjson.loads(d.logprobs_json).get("content") or [])
            into.logprobs_json = orjson.dumps(prior).decode()
    if msg.HasField("final"):
        answer.final.CopyFrom(msg.final)
