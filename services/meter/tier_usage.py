"""Who used which tier this month, how much, and what went over (for GET /api/v1/usage/tiers)."""
from __future__ import annotations

import redis.asyncio as redis

from services.meter import keys
from services.meter.budgets import BudgetStore
from tokenyard.meter.v1 import meter_pb2


class TierUsage:
    def __init__(self, client: redis.Redis, budgets: BudgetStore) -> None:
        self._redis = client
        self._budgets = budgets

    async def report(self, month: str, workspace: str | None) -> tuple[list, list]:
        """(TierSubjectUsage list, OverageRecord list newest first) for one workspace or all."""
        if workspace is None:
            names = sorted(m.decode() for m in await self._redis.smembers(keys.tier_workspaces_key(month)))
        else:
            names = [workspace]
        subjects, overages = [], []
        for ws in names:
            members = sorted(m.decode() for m in await self._redis.smembers(keys.tier_subjects_key(ws, month)))
            used = await self._redis.mget([keys.quota_key(ws, m.split("|", 1)[1], month) for m in members]) \
                if members else []
            over_totals, log = await self._budgets.overages(ws, month)
            for member, tokens in zip(members, used):
                tier, subject = member.split("|", 1)
                over = over_totals.get(member, {})
                subjects.append(meter_pb2.TierSubjectUsage(
                    tier=tier, subject=keys.unesc(subject), workspace=ws, tokens_used=int(tokens or 0),
                    tokens_over=over.get("tokens", 0), overage_cost_micros=over.get("cost", 0)))
            for item in log:
                tier, subject = item["tier_subject"].split("|", 1)
                overages.append(meter_pb2.OverageRecord(
                    request_id=item["request_id"], tier=tier, subject=keys.unesc(subject), workspace=ws,
                    tokens_over=int(item["tokens_over"]), cost_micros=int(item["cost_micros"]),
                    at_ms=int(item["at_ms"])))
        overages.sort(key=lambda o: -o.at_ms)
        return subjects, overages[:100]
