"""Hard budgets per key, agent and workspace per period, reserved before a call and settled after.

Every request's cost is added to `spent` of its key, agent and workspace for the day, week and
month it started in, whether or not a budget exists yet: a budget set mid-month then starts from
the truth. The limits themselves live in one hash per workspace.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import redis.asyncio as redis

from services.common.script_pipeline import ScriptPipeline
from services.meter import budget_scripts, keys
from services.meter.periods import period_range

PERIODS = ("day", "week", "month")
KINDS = ("key", "agent", "workspace")
MONEY_TTL_SECONDS = 40 * 86400
"""Spend, quota and settled markers outlive the longest period (a month), so a record re-sent after
its marker expired could only touch a period that is already closed."""


@dataclass(frozen=True)
class Reservation:
    admitted: bool
    reserved_micros: int = 0
    remaining_micros: int = -1
    """Least left on any applicable budget (after the reservation); -1 when none applies."""
    budget: str = ""
    """The tightest budget, `kind:id:period`."""


@dataclass(frozen=True)
class Settlement:
    applied: bool
    tokens_over: int = 0
    overage_cost_micros: int = 0


def subjects(caller, extra_agents: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    out = [("key", caller.key_id), ("agent", caller.agent_id), *(("agent", a) for a in extra_agents),
           ("workspace", caller.workspace)]
    return list(dict.fromkeys((k, v) for k, v in out if v))


def candidates(caller, at: date, extra_agents: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(budget field, spend key) for every subject and period of a caller (and of the fallback agents
    that may answer for it) at a date."""
    out = []
    for kind, sid in subjects(caller, extra_agents):
        for period in PERIODS:
            start, _ = period_range(period, at)
            out.append((keys.budget_field(kind, sid, period),
                        keys.spend_key(caller.workspace, kind, sid, period, start)))
    return out


class BudgetStore:
    def __init__(self, client: redis.Redis, marker_ttl: int = MONEY_TTL_SECONDS) -> None:
        """`marker_ttl`: how long a settled request id is remembered (the meter passes its dedup window)."""
        self._redis = client
        self._marker_ttl = marker_ttl
        self._reserve = client.register_script(budget_scripts.RESERVE)
        self._release = client.register_script(budget_scripts.RELEASE)
        self._settle = client.register_script(budget_scripts.SETTLE)

    async def reserve(self, caller, request_id: str, at: date, now_ms: int, ttl_ms: int, full_micros: int,
                      least_micros: int, inline: dict[str, int] | None = None,
                      extra_agents: tuple[str, ...] = ()) -> Reservation:
        """Reserves `full_micros` (or, if least_micros > 0, as much as is left down to least_micros)
        under (caller.key_id, request_id).

        `inline` maps budget fields to limits the caller brought along (e.g. from its key record);
        they take precedence over stored limits for the same subject and period. `extra_agents`:
        fallback agents whose budgets must afford the request too."""
        ws = caller.workspace
        cands = candidates(caller, at, extra_agents)
        inline = inline or {}
        status, amount, remaining, tight = await self._reserve(
            keys=[keys.budgets_key(ws), keys.reservations_key(ws), keys.reservation_deadlines_key(ws),
                  *[k for _, k in cands]],
            args=[keys.request_ref(caller.key_id, request_id), now_ms, now_ms + ttl_ms, full_micros, least_micros,
                  MONEY_TTL_SECONDS, *[f for f, _ in cands], *[str(inline.get(f, "")) for f, _ in cands]])
        tight = tight.decode() if isinstance(tight, bytes) else tight
        return Reservation(bool(status), int(amount), int(remaining), tight)

    async def release(self, workspace: str, key_id: str, request_id: str) -> int:
        return int(await self._release(keys=[keys.reservations_key(workspace),
                                             keys.reservation_deadlines_key(workspace)],
                                       args=[keys.request_ref(key_id, request_id)]))

    def queue_settle(self, pipe: ScriptPipeline, record, cost: int, at: date, tier_subject: str, quota: int,
                     month: str) -> None:
        """Adds the settle script for one usage record to a pipeline (result: [applied, over, over_cost])."""
        ws, kid, rid = record.caller.workspace, record.caller.key_id, record.request_id
        spend = [k for _, k in candidates(record.caller, at)]
        subject = tier_subject.split("|", 1)[1] if tier_subject else "_"
        # An extra attempt (a lost hedge, an agent that failed before its fallback answered) adds its
        # cost but leaves the request's reservation to the record of the request itself.
        reservation = keys.request_ref(kid, record.attempt_of or rid)
        pipe.script(
            self._settle,
            [keys.settled_key(ws, kid, rid), keys.reservations_key(ws), keys.reservation_deadlines_key(ws),
             keys.quota_key(ws, subject, month), keys.overage_totals_key(ws, month),
             keys.overage_log_key(ws, month), keys.tier_subjects_key(ws, month), *spend],
            [reservation, cost, record.usage.total_tokens, quota, self._marker_ttl, MONEY_TTL_SECONDS,
             tier_subject or "_|_", record.started_at_ms, "0" if record.attempt_of else "1", rid])

    async def set_limit(self, workspace: str, kind: str, sid: str, period: str, limit_micros: int | None) -> None:
        """limit_micros 0: nothing may be spent; None: no budget (unlimited)."""
        field = keys.budget_field(kind, sid, period)
        if limit_micros is not None:
            await self._redis.hset(keys.budgets_key(workspace), field, limit_micros)
            await self._redis.sadd(keys.budget_workspaces_key(), workspace)
        else:
            await self._redis.hdel(keys.budgets_key(workspace), field)

    async def workspaces(self) -> list[str]:
        return sorted(m.decode() for m in await self._redis.smembers(keys.budget_workspaces_key()))

    async def list(self, workspace: str, at: date) -> list[dict]:
        """Budgets of a workspace with their spent and reserved micro-dollars in the current period."""
        raw = await self._redis.hgetall(keys.budgets_key(workspace))
        items = []
        for f, limit in sorted(raw.items()):
            kind, sid, period = f.decode().split(":")
            start, _ = period_range(period, at)
            items.append({"kind": kind, "id": keys.unesc(sid), "period": period, "limit_micros": int(limit),
                          "spend_key": keys.spend_key(workspace, kind, keys.unesc(sid), period, start)})
        pipe = self._redis.pipeline(transaction=False)
        for item in items:
            pipe.hmget(item.pop("spend_key"), "spent", "reserved")
        for item, (spent, reserved) in zip(items, await pipe.execute() if items else []):
            item["spent_micros"], item["reserved_micros"] = int(spent or 0), int(reserved or 0)
        return items

    async def overages(self, workspace: str, month: str) -> tuple[dict[str, dict[str, int]], list[dict]]:
        """({`tier|subject`: {tokens, cost}}, newest overage records)."""
        totals_raw = await self._redis.hgetall(keys.overage_totals_key(workspace, month))
        totals: dict[str, dict[str, int]] = {}
        for f, v in totals_raw.items():
            member, metric = f.decode().rsplit("|", 1)
            totals.setdefault(member, {})[metric] = int(v)
        log_raw = await self._redis.lrange(keys.overage_log_key(workspace, month), 0, 99)
        return totals, [json.loads(x) for x in log_raw]
