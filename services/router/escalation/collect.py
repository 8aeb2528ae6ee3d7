"""Runs one tier through the router's own chat path (retries, fallbacks, breakers, metering) and
assembles its stream into an `Attempt` the validators can judge.

Each tier call is an ordinary chat request to the meter: the first keeps the request id (so a
budget reservation made at the edge settles against it), later tiers get `<id>-esc<n>`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from services.common.errors import GatewayError
from services.router.chat import ChatRunner
from services.router.escalation.config import TierSpec
from services.router.escalation.validators import Answer, Verdict
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2


@dataclass
class Attempt:
    tier: str
    model: str
    answer: Answer = field(default_factory=Answer)
    usage: common_pb2.Usage = field(default_factory=common_pb2.Usage)
    cost_micros: int = 0
    deployment: str = ""
    latency_ms: int = 0
    completion_id: str = ""
    upstream_model: str = ""
    created: int = 0
    error: str = ""
    """Why the tier gave no answer (every deployment failed, stream broke): it is skipped."""
    gateway_error: GatewayError | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    score: float = 0.0
    final: router_pb2.ChatFinal | None = None


async def run_tier(chat: ChatRunner, req: router_pb2.ChatRequest, tier: TierSpec, n: int,
                   timeout: float | None, monotonic=time.monotonic) -> Attempt:
    call = router_pb2.ChatRequest()
    call.CopyFrom(req)
    call.model = tier.model
    if n:  # a dearer tier for the same task: billed, but one request in usage
        call.request_id, call.attempt_of = f"{req.request_id}-esc{n}", req.request_id
    out, t0 = Attempt(tier.name, tier.model), monotonic()
    text: list[str] = []
    calls: dict[int, list[str]] = {}
    try:
        async for msg in chat.run(call, timeout):
            if msg.id or msg.model:
                out.completion_id, out.upstream_model, out.created = msg.id, msg.model, msg.created
            for d in msg.deltas:
                if d.index != 0:
                    continue
                text.append(d.content)
                out.answer.refusal += d.refusal
                for tc in d.tool_calls:
                    _add_tool_delta(calls, tc)
                if d.finish_reason:
                    out.answer.finish_reason = d.finish_reason
            if msg.HasField("final"):
                out.final = msg.final
    except GatewayError as err:
        out.error, out.gateway_error = err.message, err
    out.latency_ms = int((monotonic() - t0) * 1000)
    out.answer.text = "".join(text)
    out.answer.tool_calls = [(v[0], v[1]) for _, v in sorted(calls.items())]
    if out.final is not None:
        out.usage.CopyFrom(out.final.usage)
        out.cost_micros, out.deployment = out.final.cost_micros, out.final.deployment
        if out.final.error.code:
            out.error = out.final.error.message
            out.answer.finish_reason = "error"
    return out


def _add_tool_delta(calls: dict[int, list[str]], tc: router_pb2.ToolCallDelta) -> None:
    entry = calls.setdefault(tc.index, ["", ""])
    if tc.name:
        entry[0] = tc.name
    entry[1] += tc.arguments


def add_usage(total: common_pb2.Usage, u: common_pb2.Usage) -> None:
    total.prompt_tokens += u.prompt_tokens
    total.completion_tokens += u.completion_tokens
    total.total_tokens += u.total_tokens
    total.cached_tokens += u.cached_tokens
    total.estimated = total.estimated or u.estimated
