"""EscalationService over gRPC (proto <-> domain only), and the `tier/auto` branch of Chat."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import orjson

from services.common.errors import GatewayError
from services.router.escalation import tasks
from services.router.escalation.learning import LearningCycles
from services.router.escalation.metrics import EscalationMetrics
from services.router.escalation.runner import EscalationRunner
from services.router.escalation.store import EscalationStore
from services.router.escalation.tuning import Tuning
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

_NO_REDIS = GatewayError(grpc.StatusCode.FAILED_PRECONDITION, "The review queue and learning need REDIS_URL.",
                         "invalid_request_error", "escalation_store_unavailable", 400)


class EscalationServicer(router_pb2_grpc.EscalationServiceServicer):
    def __init__(self, runner: EscalationRunner, store: EscalationStore | None, metrics: EscalationMetrics | None,
                 tuning: Tuning, learning: LearningCycles | None) -> None:
        self._runner, self._store, self._metrics = runner, store, metrics
        self._tuning, self._learning = tuning, learning

    async def auto_chat(self, req: router_pb2.ChatRequest, timeout: float | None) -> AsyncIterator[router_pb2.ChatResponse]:
        """Chat with `model: "tier/auto"`: buffered until the gate decides (see tasks.py for why)."""
        task_type = req.metadata.get("task_type", "default")
        out = await self._runner.run(req, task_type, tasks.expectations(req), req.user, req.metadata.get("max_tier", ""),
                                     timeout)
        for msg in tasks.chat_messages(req, out):
            yield msg

    async def Complete(self, request, context):
        try:
            req = tasks.complete_request(_with_id(request))
            out = await self._runner.run(req, request.task_type, tasks.expectations(req), request.caller_name,
                                         request.max_tier, context.time_remaining())
            return tasks.complete_response(req, out)
        except GatewayError as err:
            await err.abort(context)

    async def Classify(self, request, context):
        try:
            req, exp = tasks.classify_request(_with_id(request))
            out = await self._runner.run(req, request.task_type or "classify", exp, request.caller_name,
                                         request.max_tier, context.time_remaining())
            return router_pb2.ClassifyResponse(result=tasks.complete_response(req, out),
                                               label=tasks.classify_label(out, exp))
        except GatewayError as err:
            await err.abort(context)

    async def ListReviews(self, request, context):
        store = await self._need(context)
        try:
            docs = await store.list(request.state or "pending", request.task_type, request.limit)
        except GatewayError as err:
            await err.abort(context)
        return router_pb2.ListReviewsResponse(reviews=[_review(d) for d in docs], pending=await store.pending_count())

    async def ResolveReview(self, request, context):
        store = await self._need(context)
        try:
            doc = await store.resolve(request.id, request.action, request.correction, request.reviewer, request.note)
        except GatewayError as err:
            await err.abort(context)
        return router_pb2.ResolveReviewResponse(review=_review(doc))

    async def QueryAudit(self, request, context):
        store = await self._need(context)
        rows = await store.query_audit(request.since_ms, request.until_ms, request.caller, request.limit)
        return router_pb2.QueryAuditResponse(entries=[router_pb2.AuditEntry(
            id=r["id"], at_ms=r["at_ms"], kind=r["kind"], request_id=r["request_id"], caller=r["caller"],
            key_id=r["key_id"], task_type=r["task_type"], tier=r["tier"], status=r["status"],
            confidence=r["confidence"], review_id=r["review_id"], detail_json=orjson.dumps(r["detail"]).decode())
            for r in rows])

    async def RunLearningCycle(self, request, context):
        await self._need(context)
        try:
            cycles, changes = await self._learning.run(request.cycle)
        except GatewayError as err:
            await err.abort(context)
        return router_pb2.RunLearningCycleResponse(cycles=cycles, changes=[_change(c) for c in changes])

    async def ListLearningChanges(self, request, context):
        await self._need(context)
        return router_pb2.ListLearningChangesResponse(
            changes=[_change(c) for c in await self._tuning.history(request.limit)],
            state_json=orjson.dumps(await self._tuning.state()).decode(), next_run_ms=await self._learning.next_runs())

    async def RevertLearningChange(self, request, context):
        await self._need(context)
        try:
            return router_pb2.RevertLearningChangeResponse(change=_change(await self._learning.revert(request.id)))
        except GatewayError as err:
            await err.abort(context)

    async def GetEscalationMetrics(self, request, context):
        store = await self._need(context)
        snap = await self._metrics.snapshot()
        out = router_pb2.GetEscalationMetricsResponse(
            review_queue_depth=await store.pending_count(), requests=snap.totals.get("requests", 0),
            cost_micros=snap.totals.get("cost", 0), top_tier_cost_micros=snap.totals.get("top_cost", 0),
            cost_saved_micros=snap.totals.get("saved", 0))
        for (task, tier), row in sorted(snap.tiers.items()):
            if request.task_type and task != request.task_type:
                continue
            rate = row["escalated"] / row["answered"] if row["answered"] else 0.0
            out.tiers.add(task_type=task, tier=tier, answered=row["answered"], escalated=row["escalated"],
                          escalation_rate=round(rate, 4), served=row["served"])
        for task, hist in snap.confidence.items():
            if not request.task_type or task == request.task_type:
                out.confidence_histogram_json[task] = orjson.dumps(hist).decode()
        return out

    async def _need(self, context) -> EscalationStore:
        if self._store is None or self._learning is None:
            await _NO_REDIS.abort(context)
        return self._store


def _with_id(request):
    if not request.request_id:
        request.request_id = f"task_{uuid.uuid4().hex}"
    return request


def _review(d: dict) -> router_pb2.Review:
    return router_pb2.Review(
        id=d["id"], request_id=d["request_id"], task_type=d["task_type"], caller=d["caller"], key_id=d["key_id"],
        tier=d["tier"], model=d["model"], confidence=d["confidence"], state=d["state"], input=d["input"],
        output=d["output"], correction=d.get("correction", ""), created_ms=d["created_ms"],
        resolved_ms=d.get("resolved_ms", 0), reviewer=d.get("reviewer", ""), note=d.get("note", ""),
        verdicts=[router_pb2.Verdict(**v) for v in d.get("verdicts", [])])


def _change(c: dict) -> router_pb2.LearningChange:
    return router_pb2.LearningChange(**c)
