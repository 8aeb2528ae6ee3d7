"""Admin API (master key) over the escalation service: review queue, audit log, learning cycles, metrics.

- `GET /api/v1/reviews` (`state`, `task_type`, `limit`), `POST /api/v1/reviews/{review_id}` (approve,
  reject or correct);
- `GET /api/v1/escalation/audit` (`since`, `until` in unix seconds, `caller`, `limit`);
- `POST /api/v1/escalation/learning` (run a cycle now), `GET /api/v1/escalation/learning` (changes,
  tuned state, next runs), `POST /api/v1/escalation/learning/{change_id}/revert`;
- `GET /api/v1/escalation/metrics` (escalation rate per task type and tier, confidence histogram,
  review queue depth, cost saved against always using the top tier).
"""
from __future__ import annotations

from typing import Annotated, Literal

import grpc
import orjson
from aiohttp import web
from google.protobuf.json_format import MessageToDict
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.edge.errors import json_error, rpc_error_response
from services.edge.middleware import require_master, id_headers
from services.edge.translate import describe
from tokenyard.router.v1 import router_pb2, router_pb2_grpc


class ReviewAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["approve", "reject", "correct"]
    correction: Annotated[str, Field(max_length=1_000_000)] | None = None
    """Required with `correct`: the answer as it should have been."""
    reviewer: Annotated[str, Field(max_length=200)] | None = None
    note: Annotated[str, Field(max_length=10_000)] | None = None


class LearningRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cycle: Literal["validators", "thresholds", "assignments", "all"] = "all"


def _dict(msg) -> dict:
    return MessageToDict(msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def _change(c: router_pb2.LearningChange) -> dict:
    return {**_dict(c), "at_ms": c.at_ms}


class ReviewsHandler:
    def __init__(self, stub: router_pb2_grpc.EscalationServiceStub, timeout: float = 30.0) -> None:
        self._stub, self._timeout = stub, timeout

    async def list(self, request: web.Request) -> web.Response:
        q = request.query
        return await self._call(request, lambda: self._stub.ListReviews(router_pb2.ListReviewsRequest(
            state=q.get("state", "pending"), task_type=q.get("task_type", ""), limit=_int(q, "limit", 50)),
            timeout=self._timeout), lambda r: {"object": "list", "pending": r.pending,
                                                "data": [{**_dict(x), "created_ms": x.created_ms,
                                                          "resolved_ms": x.resolved_ms} for x in r.reviews]})

    async def resolve(self, request: web.Request) -> web.Response:
        body = await _body(request, ReviewAction)
        if isinstance(body, web.Response):
            return body
        req = router_pb2.ResolveReviewRequest(id=request.match_info["review_id"], action=body.action,
                                              correction=body.correction or "", reviewer=body.reviewer or "",
                                              note=body.note or "")
        return await self._call(request, lambda: self._stub.ResolveReview(req, timeout=self._timeout),
                                lambda r: _dict(r.review))

    async def audit(self, request: web.Request) -> web.Response:
        q = request.query

        def rpc():
            return self._stub.QueryAudit(router_pb2.QueryAuditRequest(
                since_ms=_int(q, "since", 0) * 1000, until_ms=_int(q, "until", 0) * 1000,
                caller=q.get("caller", ""), limit=_int(q, "limit", 100)), timeout=self._timeout)
        return await self._call(request, rpc, lambda r: {
            "object": "list", "data": [{**_dict(e), "at_ms": e.at_ms, "detail": orjson.loads(e.detail_json or "{}")}
                                       for e in r.entries]})

    async def run_learning(self, request: web.Request) -> web.Response:
        body = await _body(request, LearningRun)
        if isinstance(body, web.Response):
            return body
        req = router_pb2.RunLearningCycleRequest(cycle=body.cycle)
        return await self._call(request, lambda: self._stub.RunLearningCycle(req, timeout=self._timeout),
                                lambda r: {"cycles": list(r.cycles), "changes": [_change(c) for c in r.changes]})

    async def learning(self, request: web.Request) -> web.Response:
        def rpc():
            return self._stub.ListLearningChanges(
                router_pb2.ListLearningChangesRequest(limit=_int(request.query, "limit", 100)), timeout=self._timeout)
        return await self._call(request, rpc, lambda r: {
            "object": "list", "data": [_change(c) for c in r.changes], "state": orjson.loads(r.state_json or "{}"),
            "next_run_ms": dict(r.next_run_ms)})

    async def revert(self, request: web.Request) -> web.Response:
        req = router_pb2.RevertLearningChangeRequest(id=request.match_info["change_id"])
        return await self._call(request, lambda: self._stub.RevertLearningChange(req, timeout=self._timeout),
                                lambda r: _change(r.change))

    async def metrics(self, request: web.Request) -> web.Response:
        req = router_pb2.GetEscalationMetricsRequest(task_type=request.query.get("task_type", ""))
        return await self._call(request, lambda: self._stub.GetEscalationMetrics(req, timeout=self._timeout), lambda r: {
            "requests": r.requests, "review_queue_depth": r.review_queue_depth,
            "tiers": [_dict(t) for t in r.tiers],
            "confidence_histogram": {k: orjson.loads(v) for k, v in r.confidence_histogram_json.items()},
            "cost_usd": r.cost_micros / 1e6, "top_tier_cost_usd": r.top_tier_cost_micros / 1e6,
            "cost_saved_usd": r.cost_saved_micros / 1e6})

    async def _call(self, request: web.Request, rpc, shape) -> web.Response:
        headers = id_headers(request)
        if (denied := require_master(request)) is not None:
            return denied
        try:
            return web.json_response(shape(await rpc()), headers=headers)
        except _BadQuery as exc:
            return json_error(400, str(exc), param=exc.param, code="invalid_value", headers=headers)
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, headers)


class _BadQuery(ValueError):
    def __init__(self, param: str) -> None:
        super().__init__(f"`{param}` must be a non-negative integer.")
        self.param = param


def _int(query, name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 15:
        raise _BadQuery(name)
    return min(int(raw), 10**15) if name in ("since", "until") else min(int(raw), 1000)


async def _body(request: web.Request, model: type[BaseModel]):
    if (denied := require_master(request)) is not None:
        return denied
    try:
        return model.model_validate_json(await request.read() or b"{}")
    except ValidationError as exc:
        message, param, code = describe(exc)
        return json_error(400, message, param=param, code=code)


def register(app: web.Application, stub: router_pb2_grpc.EscalationServiceStub, timeout: float) -> None:
    h = ReviewsHandler(stub, timeout)
    app.router.add_get("/api/v1/reviews", h.list)
    app.router.add_post("/api/v1/reviews/{review_id}", h.resolve)
    app.router.add_get("/api/v1/escalation/audit", h.audit)
    app.router.add_post("/api/v1/escalation/learning", h.run_learning)
    app.router.add_get("/api/v1/escalation/learning", h.learning)
    app.router.add_post("/api/v1/escalation/learning/{change_id}/revert", h.revert)
    app.router.add_get("/api/v1/escalation/metrics", h.metrics)
