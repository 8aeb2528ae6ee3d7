"""Router messages -> OpenAI's wire shapes: `chat.completion.chunk` for SSE, and the assembled
`chat.completion` for non-streaming calls (one code path: non-streaming assembles the stream)."""
from __future__ import annotations

import orjson

from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2


def usage_dict(u: common_pb2.Usage) -> dict:
    out = {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens, "total_tokens": u.total_tokens,
           "prompt_tokens_details": {"cached_tokens": u.cached_tokens}}
    if u.estimated:
        out["estimated"] = True
    return out


def routing_dict(final: router_pb2.ChatFinal) -> dict:
    """Tokenyard's extension on the last chunk: who served the answer, how, and what it cost."""
    return {"deployment": final.deployment, "attempts": final.attempts, "fallbacks": final.fallbacks,
            "hedges": final.hedges, "tried": list(final.tried_deployments),
            **cost_fields(final.cost_micros, final.cost_unknown)}


def cost_fields(micros: int, unknown: bool) -> dict:
    """What an answer cost, or that the model has no known price: never a fake zero."""
    if unknown:
        return {"cost_micros": None, "cost_usd": None, "cost_known": False}
    return {"cost_micros": micros, "cost_usd": micros / 1_000_000, "cost_known": True}


def cost_header(micros: int, unknown: bool) -> str:
    return "unknown" if unknown else f"{micros / 1_000_000:.6f}"


def routing_headers(final: router_pb2.ChatFinal) -> dict[str, str]:
    out = {"x-tokenyard-deployment": final.deployment, "x-tokenyard-attempts": str(final.attempts),
           "x-tokenyard-fallbacks": str(final.fallbacks), "x-tokenyard-hedges": str(final.hedges),
           "x-tokenyard-cost-usd": cost_header(final.cost_micros, final.cost_unknown)}
    if final.HasField("escalation"):  # `tier/auto`: the quality gate's decision on the answer served
        esc = final.escalation
        out.update({"x-tokenyard-status": esc.status, "x-tokenyard-confidence": f"{esc.confidence:g}",
                    "x-tokenyard-escalation-tier": esc.tier, "x-tokenyard-tiers-tried": ",".join(esc.tiers_tried),
                    "x-tokenyard-cost-saved-usd": f"{esc.cost_saved_micros / 1_000_000:.6f}"})
        if esc.review_id:
            out["x-tokenyard-review-id"] = esc.review_id
    return out


def _delta(d: router_pb2.ChoiceDelta) -> dict:
    out: dict = {}
    if d.role:
        out["role"] = d.role
    if d.content or d.role:
        out["content"] = d.content
    if d.refusal:
        out["refusal"] = d.refusal
    if d.tool_calls:
        calls = []
        for c in d.tool_calls:
            call: dict = {"index": c.index}
            if c.id:
                call["id"], call["type"] = c.id, c.type or "function"
            fn: dict = {"arguments": c.arguments}
            if c.name:
                fn["name"] = c.name
            call["function"] = fn
            calls.append(call)
        out["tool_calls"] = calls
    return out


class ChunkWriter:
    """Builds SSE `data:` lines; holds the per-stream header fields."""

    def __init__(self, completion_id: str, model: str, created: int) -> None:
        self._head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}

    def chunk(self, msg: router_pb2.ChatResponse) -> bytes:
        choices = [{"index": d.index, "delta": _delta(d),
                    "logprobs": orjson.loads(d.logprobs_json) if d.logprobs_json else None,
                    "finish_reason": d.finish_reason or None} for d in msg.deltas]
        return self._line({**self._head, "choices": choices})

    def usage(self, final: router_pb2.ChatFinal) -> bytes:
        return self._line({**self._head, "choices": [], "usage": usage_dict(final.usage),
                           "tokenyard": routing_dict(final)})

    def error_end(self, final: router_pb2.ChatFinal, open_choices: set[int]) -> bytes:
        """The mid-stream failure ending: a chunk with finish_reason "error" and the usage so far, then an
        SSE error event. No [DONE] follows: the client must not mistake this for a complete answer."""
        choices = [{"index": i, "delta": {}, "logprobs": None, "finish_reason": "error"} for i in sorted(open_choices)]
        err = final.error
        head = self._line({**self._head, "choices": choices, "usage": usage_dict(final.usage),
                           "tokenyard": routing_dict(final)})
        event = orjson.dumps({"error": {"message": err.message, "type": err.type, "param": None, "code": err.code}})
        return head + b"event: error\ndata: " + event + b"\n\n"

    @staticmethod
    def _line(obj: dict) -> bytes:
        return b"data: " + orjson.dumps(obj) + b"\n\n"


class Assembler:
    """Accumulates deltas into complete choices for a non-streaming answer."""

    def __init__(self) -> None:
        self._choices: dict[int, dict] = {}

    def add(self, msg: router_pb2.ChatResponse) -> None:
        for d in msg.deltas:
            c = self._choices.setdefault(d.index, {"content": [], "refusal": [], "calls": {}, "finish": None,
                                                   "logprobs": []})
            if d.content:
                c["content"].append(d.content)
            if d.refusal:
                c["refusal"].append(d.refusal)
            for t in d.tool_calls:
                call = c["calls"].setdefault(t.index, {"id": "", "type": "function", "name": "", "arguments": []})
                call["id"] = call["id"] or t.id
                call["name"] = call["name"] or t.name
                call["arguments"].append(t.arguments)
            if d.finish_reason:
                c["finish"] = d.finish_reason
            if d.logprobs_json:
                c["logprobs"].extend(orjson.loads(d.logprobs_json).get("content") or [])

    def completion(self, completion_id: str, model: str, created: int, final: router_pb2.ChatFinal) -> dict:
        choices = []
        for index in sorted(self._choices) or [0]:
            c = self._choices.get(index) or {"content": [], "refusal": [], "calls": {}, "finish": "stop", "logprobs": []}
            message: dict = {"role": "assistant", "content": "".join(c["content"]) if c["content"] or not c["calls"] else None,
                             "refusal": "".join(c["refusal"]) or None}
            if c["calls"]:
                message["tool_calls"] = [{"id": t["id"], "type": t["type"],
                                          "function": {"name": t["name"], "arguments": "".join(t["arguments"])}}
                                         for _, t in sorted(c["calls"].items())]
            choices.append({"index": index, "message": message,
                            "logprobs": {"content": c["logprobs"]} if c["logprobs"] else None,
                            "finish_reason": c["finish"] or "stop"})
        out = {"id": completion_id, "object": "chat.completion", "created": created, "model": model,
               "choices": choices, "usage": usage_dict(final.usage)}
        if final.system_fingerprint:
            out["system_fingerprint"] = final.system_fingerprint
        return out
