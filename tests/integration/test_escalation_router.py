"""Escalation through a real router: tiers, gates, review queue, learning, cost saved (real Redis, real gRPC)."""
from __future__ import annotations

import grpc
import orjson
import pytest

from services.common.pricing import PriceBook
from tests.integration import escalation_support as sup
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

pytestmark = pytest.mark.asyncio


async def _complete(esc, text="What is the capital of France? Paris is the answer.", **kw):
    return await esc.Complete(router_pb2.CompleteRequest(
        input=text, caller_name="billing-app", caller=common_pb2.Caller(key_id="key-1"), **kw), timeout=20)


async def test_refused_cheap_answer_escalates_and_the_better_answer_is_served(redis_client):
    router, esc = await sup.start(redis_client, sup.section(fast="fake-refuse"))
    try:
        resp = await _complete(esc)
        assert [a.tier for a in resp.attempts] == ["fast", "medium"]
        failed = {v.name for v in resp.attempts[0].verdicts if not v.passed}
        assert failed == {"no_refusal"} and resp.attempts[0].confidence == 2.0
        assert resp.tier == "medium" and resp.model == "fake-mid" and resp.confidence == 10.0
        assert resp.status == "approved" and "Paris" in resp.output
        # Both tiers were metered: the first under the request id, the second under <id>-esc1.
        await router.wait_records(2)
        assert set(router.meter.records) == {resp.id, f"{resp.id}-esc1"}
        # One client task: the dearer tier's call is billed as an attempt of it, not a request of its own.
        assert (router.meter.records[resp.id].attempt_of, router.meter.records[f"{resp.id}-esc1"].attempt_of) == (
            "", resp.id)
        assert resp.usage.total_tokens == sum(a.usage.total_tokens for a in resp.attempts)
    finally:
        await router.stop()


async def test_passing_answer_stays_on_the_cheap_tier(redis_client):
    router, esc = await sup.start(redis_client, sup.section())
    try:
        resp = await _complete(esc)
        assert [a.tier for a in resp.attempts] == ["fast"]
        assert resp.tier == "fast" and resp.status == "approved" and resp.confidence == 10.0
        assert {v.name for v in resp.verdicts} >= {"non_empty", "finish_reason", "no_refusal"}
        assert all(v.passed for v in resp.verdicts)
    finally:
        await router.stop()


async def test_cost_saved_is_computed_from_the_meter_prices(redis_client):
    router, esc = await sup.start(redis_client, sup.section())
    try:
        resp = await _complete(esc)
        prices = PriceBook.from_config(sup.PRICES)
        assert resp.cost_micros == prices.cost_micros("fake-cheap", "fake", resp.usage) > 0
        assert resp.top_tier_cost_micros == prices.cost_micros("fake-top", "", resp.usage)
        assert resp.cost_saved_micros == resp.top_tier_cost_micros - resp.cost_micros > 0
        metrics = await esc.GetEscalationMetrics(router_pb2.GetEscalationMetricsRequest(), timeout=5)
        assert metrics.cost_saved_micros == resp.cost_saved_micros and metrics.requests == 1
    finally:
        await router.stop()


async def test_low_confidence_answer_is_queued_and_a_rejection_raises_the_threshold(redis_client):
    router, esc = await sup.start(redis_client, sup.section(fast="fake-empty", medium="fake-empty", top="fake-empty"))
    try:
        resp = await _complete(esc)
        assert resp.status == "pending_review" and resp.confidence == 0.0 and resp.review_id
        assert [a.tier for a in resp.attempts] == ["fast", "medium", "external"]
        queue = await esc.ListReviews(router_pb2.ListReviewsRequest(), timeout=5)
        assert [r.id for r in queue.reviews] == [resp.review_id] and queue.pending == 1
        done = await esc.ResolveReview(router_pb2.ResolveReviewRequest(
            id=resp.review_id, action="reject", reviewer="ana"), timeout=5)
        assert done.review.state == "rejected"
        ran = await esc.RunLearningCycle(router_pb2.RunLearningCycleRequest(cycle="thresholds"), timeout=5)
        moved = {c.field: (c.old_value, c.new_value) for c in ran.changes}
        assert moved["escalate_below"] == (5.0, 5.5) and moved["review_below"] == (4.0, 4.5)
        # The next request runs with the learned threshold; the change is reversible.
        change = next(c for c in ran.changes if c.field == "escalate_below")
        undone = await esc.RevertLearningChange(router_pb2.RevertLearningChangeRequest(id=change.id), timeout=5)
        assert undone.change.new_value == 5.0 and undone.change.reverts == change.id
        listed = await esc.ListLearningChanges(router_pb2.ListLearningChangesRequest(), timeout=5)
        assert orjson.loads(listed.state_json)["default|escalate_below"] == 5.0
        assert {c.id: c.reverted for c in listed.changes}[change.id] is True
        audit = await esc.QueryAudit(router_pb2.QueryAuditRequest(caller="billing-app"), timeout=5)
        assert [e.kind for e in audit.entries] == ["review", "gate"]
    finally:
        await router.stop()


async def test_a_review_is_resolved_once(redis_client):
    router, esc = await sup.start(redis_client, sup.section(fast="fake-empty", medium="fake-empty", top="fake-empty"))
    try:
        resp = await _complete(esc)
        await esc.ResolveReview(router_pb2.ResolveReviewRequest(id=resp.review_id, action="approve"), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await esc.ResolveReview(router_pb2.ResolveReviewRequest(id=resp.review_id, action="reject"), timeout=5)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    finally:
        await router.stop()


async def test_tier_auto_chat_is_buffered_and_carries_the_gate(redis_client):
    router, esc = await sup.start(redis_client, sup.section(fast="fake-json-bad", medium="fake-json-mid"))
    try:
        fmt = {"type": "json_schema", "json_schema": {"name": "a", "schema": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
        content, final = await router.chat("tier/auto", "Where is the Louvre?",
                                           response_format_json=orjson.dumps(fmt).decode())
        assert orjson.loads(content) == {"city": "Where is the Louvre?"}
        assert final.escalation.tiers_tried == ["fast", "medium"] and final.escalation.tier == "medium"
        assert final.escalation.status == "approved" and final.escalation.confidence == 10.0
    finally:
        await router.stop()


async def test_classify_picks_a_label_from_the_set(redis_client):
    router, esc = await sup.start(redis_client, sup.section(fast="fake-cheap", medium="fake-json-mid"))
    try:
        resp = await esc.Classify(router_pb2.ClassifyRequest(
            input="this is spam, buy now", labels=["ham", "spam"], caller_name="mail"), timeout=20)
        assert resp.label == "spam" and resp.result.tier == "medium"
        assert {v.name for v in resp.result.attempts[0].verdicts if not v.passed} >= {"json", "label"}
    finally:
        await router.stop()


async def test_optional_judge_is_averaged_in_and_kept_as_a_verdict(redis_client):
    # The fake judge echoes the question back, so the first number it "says" is the one in the input.
    router, esc = await sup.start(redis_client, sup.section(judge_model="fake-judge"))
    try:
        resp = await _complete(esc, text="Grade this as 2 please")
        judge = next(v for v in resp.verdicts if v.name == "judge")
        assert not judge.passed and "2/10" in judge.detail
        assert resp.confidence == 6.0 and resp.status == "warning" and resp.tier == "fast"
    finally:
        await router.stop()


async def test_unanswerable_tiers_are_skipped_and_an_all_down_chain_is_an_error(redis_client):
    router, esc = await sup.start(redis_client, sup.section(fast="fake-error-500", top="fake-error-503"))
    try:
        resp = await _complete(esc, max_tier="medium")
        assert [(a.tier, bool(a.error)) for a in resp.attempts] == [("fast", True), ("medium", False)]
        assert resp.tier == "medium"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await esc.Complete(router_pb2.CompleteRequest(input="hi", max_tier="nope"), timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        await router.stop()
