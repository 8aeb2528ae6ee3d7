"""The escalation runner: cheapest allowed tier first, score each answer, move up while the score is
under the escalation threshold, serve the better answer with its gate status, and record the
decision (audit log, metrics, review queue for `pending_review`).

Cost saved is what the served answer's tokens would have cost on the top tier (the meter's prices,
services/common/pricing.py) minus what every tier tried actually cost; it is negative when the
cheap tiers were tried in vain.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis.exceptions
import structlog

from services.common.errors import invalid
from services.common.pricing import PriceBook
from services.router.chat import ChatRunner
from services.router.escalation.collect import Attempt, add_usage, run_tier
from services.router.escalation.config import EscalationConfig, TaskType
from services.router.escalation.judge import Judge
from services.router.escalation.metrics import EscalationMetrics
from services.router.escalation.store import EscalationStore
from services.router.escalation.tuning import Tuning
from services.router.escalation.validators import Expectations, Validators, score
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

log = structlog.get_logger()


@dataclass
class Outcome:
    task: TaskType
    best: Attempt
    attempts: list[Attempt]
    status: str
    usage: common_pb2.Usage = field(default_factory=common_pb2.Usage)
    cost_micros: int = 0
    top_cost_micros: int = 0
    review_id: str = ""
    latency_ms: int = 0

    @property
    def saved_micros(self) -> int:
        return self.top_cost_micros - self.cost_micros


class EscalationRunner:
    def __init__(self, chat: ChatRunner, cfg: EscalationConfig, validators: Validators, prices: PriceBook,
                 tuning: Tuning, store: EscalationStore | None, metrics: EscalationMetrics | None,
                 judge: Judge | None = None, monotonic=time.monotonic) -> None:
        self._chat, self._cfg, self._validators, self._prices = chat, cfg, validators, prices
        self._tuning, self._store, self._metrics, self._judge = tuning, store, metrics, judge
        self._monotonic = monotonic

    async def run(self, req: router_pb2.ChatRequest, task_type: str, exp: Expectations, caller_name: str = "",
                  max_tier: str = "", timeout: float | None = None) -> Outcome:
        t0 = self._monotonic()
        task = self._cfg.task(task_type or "default")
        eff = await self._tuning.effective(task.name)
        tiers = self._allowed(task, max_tier, eff.start_tier)
        exp.language = exp.language or task.language
        attempts: list[Attempt] = []
        for n, name in enumerate(tiers):
            left = None if timeout is None else timeout - (self._monotonic() - t0)
            a = await run_tier(self._chat, req, self._cfg.tier(name), n, left, self._monotonic)
            attempts.append(a)
            if a.error:
                if a.gateway_error is not None and a.gateway_error.http_status == 400:
                    raise a.gateway_error  # the request itself is wrong: no tier will take it
                log.warning("escalation_tier_failed", request_id=req.request_id, tier=name, error=a.error)
                continue
            a.verdicts = await self._validators.check(a.answer, exp)
            a.score = score(a.verdicts, eff.penalties)
            if self._judge is not None:
                a.score = await self._judge.blend(req, a, left)
            if a.score >= eff.gate.escalate_below:
                break
            if n + 1 < len(tiers):
                log.info("escalated", request_id=req.request_id, task_type=task.name, tier=name,
                         next_tier=tiers[n + 1], confidence=a.score,
                         failed=[v.name for v in a.verdicts if not v.passed])
        answered = [a for a in attempts if not a.error]
        if not answered:
            raise attempts[-1].gateway_error or invalid("No tier could answer.")
        # The better answer: highest score; on a tie the later (larger) tier, whose tokens were paid for anyway.
        best = max(reversed(answered), key=lambda a: a.score)
        out = Outcome(task, best, attempts, eff.gate.status(best.score))
        for a in attempts:
            add_usage(out.usage, a.usage)
            out.cost_micros += a.cost_micros
        out.top_cost_micros = self._prices.cost_micros(self._cfg.top.model, "", best.usage)
        out.latency_ms = int((self._monotonic() - t0) * 1000)
        try:
            await self._record(req, out, caller_name, exp)
        except redis.exceptions.RedisError as exc:
            # The answer is good to serve; losing its audit entry must not fail the request.
            log.warning("escalation_record_failed", request_id=req.request_id, error=str(exc))
        return out

    def _allowed(self, task: TaskType, max_tier: str, start: int) -> list[str]:
        tiers = list(task.tiers)
        if max_tier:
            if max_tier not in tiers:
                raise invalid(f"`max_tier` must be one of {', '.join(tiers)} for task type `{task.name}`.",
                              "max_tier")
            tiers = tiers[:tiers.index(max_tier) + 1]
        return tiers[min(start, len(tiers) - 1):]

    async def _record(self, req: router_pb2.ChatRequest, out: Outcome, caller_name: str, exp: Expectations) -> None:
        best, caller = out.best, caller_name or req.caller.key_id
        verdicts = [{"name": v.name, "passed": v.passed, "penalty": v.penalty, "detail": v.detail}
                    for v in best.verdicts]
        log.info("gate_decision", request_id=req.request_id, task_type=out.task.name, tier=best.tier,
                 status=out.status, confidence=best.score, tiers=[a.tier for a in out.attempts],
                 cost_micros=out.cost_micros, top_tier_cost_micros=out.top_cost_micros)
        if self._store is None:
            return
        if out.status == "pending_review":
            out.review_id = await self._store.enqueue({
                "request_id": req.request_id, "task_type": out.task.name, "caller": caller,
                "key_id": req.caller.key_id, "tier": best.tier, "model": best.model, "confidence": best.score,
                "input": _last_user(req)[:20_000], "output": best.answer.text[:20_000], "verdicts": verdicts,
                "correction": "", "reviewer": "", "note": ""})
        await self._store.audit({
            "kind": "gate", "request_id": req.request_id, "caller": caller, "key_id": req.caller.key_id,
            "task_type": out.task.name, "tier": best.tier, "status": out.status, "confidence": best.score,
            "review_id": out.review_id,
            "detail": {"tiers": [{"tier": a.tier, "confidence": a.score, "error": a.error} for a in out.attempts],
                       "verdicts": verdicts, "cost_micros": out.cost_micros,
                       "top_tier_cost_micros": out.top_cost_micros}})
        if self._metrics is not None:
            tried = [(a.tier, a is not out.attempts[-1]) for a in out.attempts if not a.error]
            await self._metrics.record(out.task.name, tried, best.tier, best.score, out.cost_micros,
                                       out.top_cost_micros)


def _last_user(req: router_pb2.ChatRequest) -> str:
    for m in reversed(req.messages):
        if m.role == "user":
            return m.content or " ".join(p.text for p in m.parts if p.text)
    return ""
