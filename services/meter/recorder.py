"""RecordUsage's domain side: apply each record to the ledger and settle its money, exactly once each.

The ledger script (day slot) and the settle script (workspace slot) are separate atomic steps, each
idempotent by the request id, and both run for every record on every delivery. So if the meter dies
between the two, the sender's retry finds the record applied and the settlement not, and completes
it; neither can ever count twice. One pipeline per batch: one round trip for the lot (ScriptPipeline:
no SCRIPT EXISTS round trip before it).
"""
from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as redis
import structlog

from services.common.script_pipeline import ScriptPipeline
from services.meter import keys
from services.meter.admission import tier_subject
from services.meter.budgets import BudgetStore
from services.meter.ledger import Ledger
from services.meter.periods import day_of, month_of
from services.meter.requestlog.log import RequestLog
from services.meter.tiers import TierBook
from tokenyard.meter.v1 import meter_pb2

log = structlog.get_logger()


@dataclass(frozen=True)
class BatchResult:
    applied: int
    duplicates: int
    overages: int


class Recorder:
    def __init__(self, client: redis.Redis, ledger: Ledger, budgets: BudgetStore, tiers: TierBook,
                 request_log: RequestLog | None = None) -> None:
        """`request_log`: where every record of a batch goes once its Redis steps succeeded (written before
        this call returns, or queued when the store is failing: services/meter/requestlog/log.py). Duplicates too: if a first delivery applied the ledger but failed before it got here
        (Redis dropped mid-pipeline), the retry is a ledger duplicate, and only logging it still gets the
        request its row; the log's own key (the request id) keeps it to one row."""
        self._redis = client
        self._ledger = ledger
        self._budgets = budgets
        self._tiers = tiers
        self._request_log = request_log

    async def record(self, records: list[meter_pb2.UsageRecord]) -> BatchResult:
        pipe = ScriptPipeline(self._redis)
        costed = [(r, self._ledger.cost(r)) for r in records]
        days = self._ledger.queue_apply(pipe, costed)
        tier_workspaces: set[tuple[str, str]] = set()
        for r, cost in costed:
            day = day_of(r.started_at_ms)
            month = month_of(day)
            tier = self._tiers.get(r.caller.tier) if r.caller.tier else None
            subject = tier_subject(r.caller) if tier else ""
            member = f"{tier.name}|{subject}" if tier and subject else ""
            if member:
                tier_workspaces.add((r.caller.workspace, month))
            self._budgets.queue_settle(pipe, r, cost, day, member, tier.monthly_tokens if member else 0, month)
        for ws, month in tier_workspaces:
            pipe.command("SADD", keys.tier_workspaces_key(month), ws)
        results = await pipe.execute()
        applied = sum(1 for reply in results[:len(days)] for flag in reply if flag == 1)
        if self._request_log is not None:
            await self._request_log.add(costed)
        overages = 0
        for i, r in enumerate(records):
            _settled, over, over_cost = results[len(days) + i]
            if over:
                overages += 1
                log.warning("tier_overage", request_id=r.request_id, tier=r.caller.tier,
                            subject=keys.unesc(tier_subject(r.caller)), workspace=r.caller.workspace,
                            tokens_over=int(over), cost_micros=int(over_cost))
        return BatchResult(applied, len(records) - applied, overages)
