"""Admit: before a chat request is routed, resolve its tier, apply fair use, reserve its budget.

The order matters: the tier (and any degrade) decides the model, the model decides the price, and
the price decides the worst-case reservation. Refusals are GatewayErrors the edge turns into 429/403
in the OpenAI shape.
"""
from __future__ import annotations

from dataclasses import dataclass

import grpc
import structlog

from services.common.errors import GatewayError, invalid, not_found
from services.common.pricing import PriceBook
from services.meter import keys
from services.meter.budgets import BudgetStore
from services.meter.periods import day_of, month_of
from services.meter.tiers import Tier, TierBook
from services.meter.unpriced import refuse_unpriced
from tokenyard.meter.v1 import meter_pb2

log = structlog.get_logger()
_KINDS = {meter_pb2.SUBJECT_KIND_KEY: "key", meter_pb2.SUBJECT_KIND_AGENT: "agent",
          meter_pb2.SUBJECT_KIND_WORKSPACE: "workspace"}
_PERIODS = {meter_pb2.PERIOD_DAY: "day", meter_pb2.PERIOD_WEEK: "week", meter_pb2.PERIOD_MONTH: "month"}
MIN_COMPLETION_TOKENS = 16
"""A request without max_tokens is admitted while its budgets still afford this many completion tokens."""


def tier_subject(caller) -> str:
    """Who a tier quota belongs to: the agent, else the key."""
    if caller.agent_id:
        return f"agent:{keys.esc(caller.agent_id)}"
    return f"key:{keys.esc(caller.key_id)}" if caller.key_id else ""


def refused(message: str, code: str) -> GatewayError:
    return GatewayError(grpc.StatusCode.RESOURCE_EXHAUSTED, message, "insufficient_quota", code, 429)


@dataclass
class Admitter:
    redis: redis.Redis
    budgets: BudgetStore
    pricing: PriceBook
    tiers: TierBook
    default_max_tokens: int
    reservation_ttl_ms: int

    async def admit(self, req: meter_pb2.AdmitRequest, now_ms: int) -> meter_pb2.AdmitResponse:
        caller, at_ms = req.caller, req.at_ms or now_ms
        out = meter_pb2.AdmitResponse(tier=caller.tier, remaining_micros=-1)
        own = self.tiers.get(caller.tier) if caller.tier else None
        served = self._requested_tier(req.model, caller.tier, own)
        out.model = served.model if served else req.model
        if own is not None and tier_subject(caller):
            month = month_of(day_of(at_ms))
            used = int(await self.redis.get(keys.quota_key(caller.workspace, tier_subject(caller), month)) or 0)
            if used >= own.monthly_tokens:
                out.over_quota = True
                served = await self._over_quota(req, own, served, used, out)
        out.served_tier = served.name if served else ""
        if not out.model:
            raise invalid("`model` is required.", "model")
        await self._reserve(req, out, at_ms, now_ms)
        return out

    def _requested_tier(self, model: str, caller_tier: str, own: Tier | None) -> Tier | None:
        name = self.tiers.requested(model, caller_tier)
        if name is None:
            return None
        tier = self.tiers.get(name)
        if tier is None:
            raise not_found(f"The tier `{name}` does not exist.", param="model")
        if own is None or tier.price_micros > own.price_micros:
            raise GatewayError(grpc.StatusCode.PERMISSION_DENIED,
                               f"Your key is not on the `{name}` tier (or a dearer one); ask for your own tier.",
                               "permission_error", "tier_not_allowed", 403, "model")
        return tier

    async def _over_quota(self, req, own: Tier, served: Tier | None, used: int,
                          out: meter_pb2.AdmitResponse) -> Tier | None:
        subject = tier_subject(req.caller)
        log.warning("tier_quota_exceeded", request_id=req.request_id, tier=own.name, subject=subject,
                    workspace=req.caller.workspace, tokens_used=used, monthly_tokens=own.monthly_tokens,
                    policy=own.overage_policy)
        if own.overage_policy == "block":
            raise refused(f"You have used this month's {own.monthly_tokens} tokens of the `{own.name}` tier. "
                          "Upgrade your tier or wait for the next month.", "insufficient_quota")
        if own.overage_policy == "degrade" and served is not None:
            cheaper = self.tiers.cheaper(served)
            if cheaper is not None:
                out.model, out.degraded = cheaper.model, True
                return cheaper
        return served

    def _models(self, req, out: meter_pb2.AdmitResponse) -> list[str]:
        """The routed model and, for agent chat, every model the agent chain may use (tiers resolved)."""
        models = [out.model]
        for m in req.candidate_models:
            tier = self.tiers.get(m[len("tier/"):]) if m.startswith("tier/") else None
            models.append(tier.model if tier is not None else m)
        return list(dict.fromkeys(m for m in models if m))

    def _worst(self, models: list[str], prompt_tokens: int, completion: int) -> int:
        return max(self.pricing.worst_case_micros(m, prompt_tokens, completion) for m in models)

    async def _reserve(self, req, out: meter_pb2.AdmitResponse, at_ms: int, now_ms: int) -> None:
        completion = req.max_tokens or self.default_max_tokens
        models = self._models(req, out)
        unpriced = [m for m in models if not self.pricing.known(m)]
        # Unpriced: reserve a placeholder micro-dollar, which tells whether a budget applies (refused below).
        full = self._worst(models, req.prompt_tokens, completion) if not unpriced else 1
        least = 0
        if not req.max_tokens:
            least = self._worst(models, req.prompt_tokens, MIN_COMPLETION_TOKENS)
        r = await self.budgets.reserve(req.caller, req.request_id, day_of(at_ms), now_ms, self.reservation_ttl_ms,
                                       full, max(least, 1) if least else 0, _inline_budgets(req),
                                       tuple(a for a in req.fallback_agent_ids if a))
        if r.remaining_micros >= 0 and unpriced:
            await refuse_unpriced(self.budgets, req, unpriced[0])  # a budget cannot bound an unknown price
        if not r.admitted:
            log.info("budget_refused", request_id=req.request_id, budget=r.budget, remaining_micros=r.remaining_micros,
                     needed_micros=full)
            raise refused(f"This request could cost up to ${full / 1e6:.6f}, more than is left on the "
                          f"{_describe(r.budget)} budget. Lower max_tokens or raise the budget.", "budget_exceeded")
        out.reserved_micros, out.remaining_micros, out.budget = r.reserved_micros, r.remaining_micros, r.budget
        if r.remaining_micros >= 0 or r.reserved_micros:
            out.completion_token_allowance = _allowance(self.pricing, models, req.prompt_tokens,
                                                        r.reserved_micros, completion)


def _allowance(pricing: PriceBook, models: list[str], prompt_tokens: int, reserved: int, asked: int) -> int:
    """Completion tokens the reservation pays for at the dearest price, at most what was asked."""
    per_million = max(pricing.output_micros_per_million(m, prompt_tokens) for m in models)
    if per_million == 0:
        return asked
    prompt_cost = max(pricing.worst_case_micros(m, prompt_tokens, 0) for m in models)
    return max(0, min(asked, (reserved - prompt_cost) * 1_000_000 // per_million))


def _inline_budgets(req) -> dict[str, int]:
    out = {}
    for b in req.budgets:
        kind, period = _KINDS.get(b.kind), _PERIODS.get(b.period)
        if kind is None or period is None or not b.id or b.limit_micros < 0:
            raise invalid("each budget needs kind, id, period and limit_micros >= 0 (0: nothing may be spent)",
                          "budgets")
        out[keys.budget_field(kind, b.id, period)] = b.limit_micros
    return out


def _describe(budget: str) -> str:
    kind, sid, period = (budget.split(":") + ["", "", ""])[:3]
    return f"{kind} `{keys.unesc(sid)}` {period}ly".replace("dayly", "daily")
