"""Task requests -> chat requests the tiers answer, and outcomes -> task responses and chat streams.

`model: "tier/auto"` on the chat API is BUFFERED until the gate decides: the router cannot know
whether a later tier will be needed until it has the whole answer, and the mid-stream contract
forbids splicing two models' outputs into one stream. Streaming clients therefore get the winning
answer as one chunk followed by the usual end (same SSE shape, time-to-first-token = the gate's
latency). Streaming with escalation disabled was rejected: most SDK clients stream by default,
so it would silently turn the feature off for them.
"""
from __future__ import annotations

import time
import uuid

import orjson

from services.common.errors import invalid
from services.router.escalation.runner import Outcome
from services.router.escalation.validators import Expectations, extract_label
from tokenyard.router.v1 import router_pb2

_LANG_HINT = "Answer in the language with ISO 639-1 code `{}`."


def expectations(req: router_pb2.ChatRequest) -> Expectations:
    """What a chat request asked for, to check answers against (bad JSON in it is a 400)."""
    try:
        rf = orjson.loads(req.response_format_json) if req.response_format_json else None
        tools = {t.name: orjson.loads(t.parameters_json) if t.parameters_json else {} for t in req.tools}
    except ValueError:
        raise invalid("`response_format` and tool `parameters` must be valid JSON.", "response_format") from None
    return Expectations(rf if isinstance(rf, dict) else None, tools, req.metadata.get("language", "").lower())


def complete_request(r: router_pb2.CompleteRequest) -> router_pb2.ChatRequest:
    if not r.input.strip():
        raise invalid("`input` must not be empty.", "input")
    messages = []
    system = "\n".join(s for s in (r.system, _LANG_HINT.format(r.language) if r.language else "") if s)
    if system:
        messages.append(router_pb2.Message(role="system", content=system))
    messages.append(router_pb2.Message(role="user", content=r.input))
    req = router_pb2.ChatRequest(request_id=r.request_id or f"task_{uuid.uuid4().hex}", caller=r.caller,
                                 messages=messages, tools=r.tools, response_format_json=r.response_format_json,
                                 user=r.caller_name)
    if r.HasField("max_tokens"):
        req.max_tokens = r.max_tokens
    if r.HasField("temperature"):
        req.temperature = r.temperature
    if r.language:
        req.metadata["language"] = r.language.lower()
    return req


def classify_request(r: router_pb2.ClassifyRequest) -> tuple[router_pb2.ChatRequest, Expectations]:
    labels = tuple(dict.fromkeys(lab for lab in r.labels if lab))
    if len(labels) < 2:
        raise invalid("`labels` must hold at least two distinct labels.", "labels")
    schema = {"type": "object", "properties": {"label": {"type": "string", "enum": list(labels)}},
              "required": ["label"], "additionalProperties": False}
    fmt = {"type": "json_schema", "json_schema": {"name": "classification", "schema": schema, "strict": True}}
    task = router_pb2.CompleteRequest(
        request_id=r.request_id, caller=r.caller, caller_name=r.caller_name, input=r.input,
        system=("Classify the user's text into exactly one of these labels: " + ", ".join(labels)
                + '. Reply with JSON {"label": "<label>"} only.'),
        response_format_json=orjson.dumps(fmt).decode())
    task.max_tokens = 64
    req = complete_request(task)
    exp = expectations(req)
    exp.labels = labels
    return req, exp


def complete_response(req: router_pb2.ChatRequest, out: Outcome) -> router_pb2.CompleteResponse:
    best = out.best
    resp = router_pb2.CompleteResponse(
        id=req.request_id, status=out.status, confidence=best.score, model=best.model, tier=best.tier,
        task_type=out.task.name, latency_ms=out.latency_ms, usage=out.usage, output=best.answer.text,
        finish_reason=best.answer.finish_reason, verdicts=_verdicts(best), cost_micros=out.cost_micros,
        top_tier_cost_micros=out.top_cost_micros, cost_saved_micros=out.saved_micros, review_id=out.review_id)
    for i, (name, args) in enumerate(best.answer.tool_calls):
        resp.tool_calls.add(id=f"call_{i}", type="function", name=name, arguments=args)
    for a in out.attempts:
        resp.attempts.add(tier=a.tier, model=a.model, deployment=a.deployment, confidence=a.score,
                          verdicts=_verdicts(a), usage=a.usage, cost_micros=a.cost_micros,
                          latency_ms=a.latency_ms, error=a.error)
    return resp


def classify_label(out: Outcome, exp: Expectations) -> str:
    return extract_label(out.best.answer.text, exp.labels) or ""


def chat_messages(req: router_pb2.ChatRequest, out: Outcome) -> list[router_pb2.ChatResponse]:
    """The served answer as a (buffered) chat stream: one message with the whole answer, then the final."""
    best, a = out.best, out.best.answer
    delta = router_pb2.ChoiceDelta(index=0, role="assistant", content=a.text, refusal=a.refusal,
                                   finish_reason=a.finish_reason or "stop")
    for i, (name, args) in enumerate(a.tool_calls):
        delta.tool_calls.add(index=i, id=f"call_{uuid.uuid4().hex[:12]}", type="function", name=name, arguments=args)
    head = router_pb2.ChatResponse(id=best.completion_id or f"chatcmpl-{uuid.uuid4().hex[:24]}",
                                   model=best.upstream_model or best.model, created=best.created or int(time.time()),
                                   deltas=[delta])
    src = best.final or router_pb2.ChatFinal()
    final = router_pb2.ChatFinal(
        usage=out.usage, deployment=best.deployment, attempts=sum(x.final.attempts for x in out.attempts if x.final),
        system_fingerprint=src.system_fingerprint, cost_micros=out.cost_micros,
        cost_unknown=any(x.final.cost_unknown for x in out.attempts if x.final),  # one tier unpriced: sum unknown
        tried_deployments=[d for x in out.attempts if x.final for d in x.final.tried_deployments],
        escalation=router_pb2.EscalationSummary(
            status=out.status, confidence=best.score, tier=best.tier, task_type=out.task.name,
            tiers_tried=[x.tier for x in out.attempts], review_id=out.review_id,
            top_tier_cost_micros=out.top_cost_micros, cost_saved_micros=out.saved_micros, verdicts=_verdicts(best)))
    return [head, router_pb2.ChatResponse(final=final)]


def _verdicts(a) -> list[router_pb2.Verdict]:
    return [router_pb2.Verdict(name=v.name, passed=v.passed, penalty=v.penalty, detail=v.detail) for v in a.verdicts]
