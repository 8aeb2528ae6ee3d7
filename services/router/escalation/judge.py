"""Optional judge: another model scores the answer 0-10 (off by default: it costs a call per tier).

The judge's score is averaged with the validators' score and kept as a `judge` verdict, so it stays
explainable; a judge that fails or answers without a number leaves the validators' score alone.
"""
from __future__ import annotations

import re

from services.router.chat import ChatRunner
from services.router.escalation.collect import Attempt, run_tier
from services.router.escalation.config import TierSpec
from services.router.escalation.validators import Verdict
from tokenyard.router.v1 import router_pb2

_NUMBER = re.compile(r"\b(10(?:\.0+)?|\d(?:\.\d+)?)\b")
_PROMPT = ("You grade answers. Reply with one number from 0 (useless or wrong) to 10 (correct and complete), "
           "nothing else.")


class Judge:
    def __init__(self, chat: ChatRunner, model: str) -> None:
        self._chat, self._tier = chat, TierSpec("judge", model)

    async def blend(self, req: router_pb2.ChatRequest, a: Attempt, timeout: float | None) -> float:
        question = next((m.content for m in reversed(req.messages) if m.role == "user"), "")
        ask = router_pb2.ChatRequest(request_id=f"{req.request_id}-judge-{a.tier}", caller=req.caller, messages=[
            router_pb2.Message(role="system", content=_PROMPT),
            router_pb2.Message(role="user", content=f"Question:\n{question}\n\nAnswer:\n{a.answer.text}")])
        ask.max_tokens = 8
        verdict = await run_tier(self._chat, ask, self._tier, 0, timeout)
        m = _NUMBER.search(verdict.answer.text) if not verdict.error else None
        if m is None:
            a.verdicts.append(Verdict("judge", True, "the judge gave no score; ignored"))
            return a.score
        grade = float(m.group(1))
        a.verdicts.append(Verdict("judge", grade >= 5, f"judge {self._tier.model} scored {grade:g}/10"))
        return round((a.score + grade) / 2, 2)
