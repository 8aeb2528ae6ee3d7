"""Task API over the router's cost-first escalation: `POST /v1/completion` and `POST /v1/classify`.

A task names what it is (`task_type`) and who asks (`caller`), not a model: the router starts at the
cheapest tier the task type allows and escalates on a low confidence score. Same auth, rate limits
and budgets as chat: the task is admitted by the meter as `tier/auto` (reserved at the top tier's
price) and its first tier call settles the reservation under the request id.
"""
from __future__ import annotations

from typing import Annotated, Any

import grpc
import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.edge.admission import Admission
from services.edge.dialects.base import Parsed
from services.edge.errors import json_error, rpc_error_response
from services.edge.middleware import PRINCIPAL, REQUEST_ID, id_headers
from services.edge.relay import ChatRelay
from services.edge.translate import describe
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

AUTO_MODEL = "tier/auto"
_NAME = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]
_LANG = Annotated[str, Field(pattern=r"^[a-zA-Z]{2}$")]


class CompletionTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    caller: Annotated[str, Field(min_length=1, max_length=200)]
    """Name of the calling application, kept in the audit log."""
    task_type: _NAME = "default"
    input: Annotated[str, Field(min_length=1, max_length=1_000_000)]
    language: _LANG | None = None
    """ISO 639-1 code of the answer language; checked by the language validator."""
    system: Annotated[str, Field(max_length=100_000)] | None = None
    response_format: dict[str, Any] | None = None
    """OpenAI `response_format`; json_object / json_schema answers are validated."""
    max_tokens: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    max_tier: _NAME | None = None

    @field_validator("response_format")
    @classmethod
    def _encodable(cls, v: dict | None) -> dict | None:
        """It travels to the router as JSON text: refuse what JSON cannot carry (e.g. integers past 64 bits)."""
        if v is not None:
            try:
                orjson.dumps(v)
            except TypeError as exc:
                raise ValueError(f"cannot be encoded as JSON: {exc}") from None
        return v


class ClassifyTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    caller: Annotated[str, Field(min_length=1, max_length=200)]
    task_type: _NAME = "classify"
    input: Annotated[str, Field(min_length=1, max_length=1_000_000)]
    labels: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=2, max_length=200)]
    language: _LANG | None = None
    max_tier: _NAME | None = None


class TasksHandler:
    def __init__(self, stub: router_pb2_grpc.EscalationServiceStub, relay: ChatRelay, admission: Admission,
                 timeout: float) -> None:
        self._stub, self._relay, self._admission, self._timeout = stub, relay, admission, timeout

    async def completion(self, request: web.Request) -> web.StreamResponse:
        return await self._run(request, CompletionTask, self._complete)

    async def classify(self, request: web.Request) -> web.StreamResponse:
        return await self._run(request, ClassifyTask, self._classify)

    async def _complete(self, body: CompletionTask, rid: str, caller, headers: dict) -> web.Response:
        req = router_pb2.CompleteRequest(
            request_id=rid, caller=caller, caller_name=body.caller, task_type=body.task_type, input=body.input,
            language=(body.language or "").lower(), system=body.system or "", max_tier=body.max_tier or "",
            response_format_json=orjson.dumps(body.response_format).decode() if body.response_format else "")
        if body.max_tokens is not None:
            req.max_tokens = body.max_tokens
        resp = await self._stub.Complete(req, timeout=self._timeout)
        return web.json_response(task_body(resp, "task.completion"), headers=headers)

    async def _classify(self, body: ClassifyTask, rid: str, caller, headers: dict) -> web.Response:
        req = router_pb2.ClassifyRequest(request_id=rid, caller=caller, caller_name=body.caller,
                                         task_type=body.task_type, input=body.input, labels=body.labels,
                                         language=(body.language or "").lower(), max_tier=body.max_tier or "")
        resp = await self._stub.Classify(req, timeout=self._timeout)
        return web.json_response({**task_body(resp.result, "task.classification"), "label": resp.label or None,
                                  "labels": body.labels}, headers=headers)

    async def _run(self, request: web.Request, model: type[BaseModel], call) -> web.StreamResponse:
        rid, principal = request[REQUEST_ID], request[PRINCIPAL]
        headers = id_headers(request)
        try:
            body = model.model_validate_json(await request.read())
        except ValidationError as exc:
            message, param, code = describe(exc)
            return json_error(400, message, param=param, code=code, headers=headers)
        # tier/auto may reach any tier's model: UTF-8 bytes bound every tokenizer (prompt_tokens.py).
        estimated = len(body.input.encode()) + len((getattr(body, "system", None) or "").encode()) + 64 + (
            getattr(body, "max_tokens", None) or 0)
        refused = await self._relay.admit(principal, AUTO_MODEL, estimated, headers)
        if refused is not None:
            status, error = refused
            return json_error(status, error["message"], error["type"], error["param"], error["code"], headers)
        parsed = Parsed(router_pb2.ChatRequest(request_id=rid, model=AUTO_MODEL, caller=principal.caller), False,
                        False, estimated)
        admitted = await self._admission.admit(principal, parsed)
        if isinstance(admitted, tuple):
            status, error, extra = admitted
            return json_error(status, error["message"], error["type"], error.get("param"), error.get("code"),
                              {**headers, **extra})
        try:
            return await call(body, rid, principal.caller, headers)
        except grpc.aio.AioRpcError as err:
            if admitted.reserved_micros:
                self._admission.release(rid, principal.caller.workspace, principal.caller.key_id)
            return rpc_error_response(err, headers)


def task_body(r: router_pb2.CompleteResponse, kind: str) -> dict:
    """The task API's answer: the served output with its gate status, score and what it cost."""
    return {
        "id": r.id, "object": kind, "status": r.status, "confidence": r.confidence, "model": r.model,
        "tier": r.tier, "task_type": r.task_type, "latency_ms": r.latency_ms,
        "tokens": {"in": r.usage.prompt_tokens, "out": r.usage.completion_tokens},
        "output": r.output, "finish_reason": r.finish_reason or None,
        "tool_calls": [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                       for c in r.tool_calls] or None,
        "verdicts": [_verdict(v) for v in r.verdicts],
        "attempts": [{"tier": a.tier, "model": a.model, "confidence": a.confidence, "latency_ms": a.latency_ms,
                      "tokens": {"in": a.usage.prompt_tokens, "out": a.usage.completion_tokens},
                      "cost_usd": _usd(a.cost_micros), "error": a.error or None,
                      "verdicts": [_verdict(v) for v in a.verdicts]} for a in r.attempts],
        "cost_usd": _usd(r.cost_micros), "top_tier_cost_usd": _usd(r.top_tier_cost_micros),
        "cost_saved_usd": _usd(r.cost_saved_micros), "review_id": r.review_id or None,
    }


def _verdict(v: router_pb2.Verdict) -> dict:
    return {"name": v.name, "passed": v.passed, "penalty": v.penalty, "detail": v.detail}


def _usd(micros: int) -> float:
    return round(micros / 1_000_000, 6)


def register(app: web.Application, stub: router_pb2_grpc.EscalationServiceStub, relay: ChatRelay,
             admission: Admission, timeout: float) -> None:
    handler = TasksHandler(stub, relay, admission, timeout)
    app.router.add_post("/v1/completion", handler.completion)
    app.router.add_post("/v1/classify", handler.classify)
