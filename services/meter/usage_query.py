"""Reads the ledger's per-day aggregates back: one subject's usage, and summaries of a whole scope.

A period is read as its days (at most 31 hashes per subject, pipelined in one round trip); the
by-date breakdown comes for free and the period totals are their sum.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import redis.asyncio as redis

from services.meter import keys
from services.meter.ledger import METRICS
from services.meter.periods import days

SUMMARY_KINDS = ("workspace", *keys.DIMENSIONS)


@dataclass
class Totals:
    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    by_model: dict[str, dict[str, int]] = field(default_factory=dict)
    by_deployment: dict[str, dict[str, int]] = field(default_factory=dict)

    def add_hash(self, raw: dict[bytes, bytes]) -> None:
        for f, v in raw.items():
            name, amount = f.decode(), int(v)
            if name.startswith(("m:", "d:")):
                target = self.by_model if name[0] == "m" else self.by_deployment
                sub, metric = name[2:].rsplit(":", 1)
                bucket = target.setdefault(keys.unesc(sub), dict.fromkeys(METRICS, 0))
                if metric in bucket:
                    bucket[metric] += amount
            elif name in self.values:
                self.values[name] += amount

    def add(self, other: "Totals") -> None:
        for k, v in other.values.items():
            self.values[k] += v
        for mine, theirs in ((self.by_model, other.by_model), (self.by_deployment, other.by_deployment)):
            for name, metrics in theirs.items():
                bucket = mine.setdefault(name, dict.fromkeys(METRICS, 0))
                for k, v in metrics.items():
                    bucket[k] += v


@dataclass
class Report:
    totals: Totals
    by_date: list[tuple[date, Totals]]


@dataclass
class Summary:
    report: Report
    by_subject: dict[str, dict[str, Totals]]
    """kind ("workspace", "key", "agent", "user", "session") -> id -> totals over the period."""


class UsageQuery:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    async def usage(self, start: date, end: date, workspace: str | None = None, kind: str = "",
                    value: str = "") -> Report:
        """Usage of everything, one workspace, or one subject (kind/value) in it or across workspaces."""
        period = days(start, end)
        pipe = self._redis.pipeline(transaction=False)
        for d in period:
            pipe.hgetall(keys.dim_key(d, kind, value, workspace) if kind else keys.scope_key(d, workspace))
        return self._report(period, await pipe.execute())

    async def summary(self, start: date, end: date, workspace: str | None = None) -> Summary:
        period = days(start, end)
        kinds = [k for k in SUMMARY_KINDS if not (workspace is not None and k == "workspace")]
        pipe = self._redis.pipeline(transaction=False)
        for d in period:
            pipe.hgetall(keys.scope_key(d, workspace))
            for kind in kinds:
                pipe.smembers(keys.index_key(d, kind, workspace))
        raw = await pipe.execute()
        step = 1 + len(kinds)
        report = self._report(period, raw[::step])
        wanted: list[tuple[date, str, str]] = []
        for i, d in enumerate(period):
            for j, kind in enumerate(kinds):
                wanted += [(d, kind, m.decode()) for m in raw[i * step + 1 + j]]
        pipe = self._redis.pipeline(transaction=False)
        for d, kind, value in wanted:
            if kind == "workspace":
                pipe.hgetall(keys.scope_key(d, value))
            else:
                pipe.hgetall(keys.dim_key(d, kind, value, workspace))
        by_subject: dict[str, dict[str, Totals]] = {k: {} for k in kinds}
        for (_, kind, value), h in zip(wanted, await pipe.execute() if wanted else []):
            by_subject[kind].setdefault(value, Totals()).add_hash(h)
        return Summary(report, by_subject)

    @staticmethod
    def _report(period: list[date], hashes: list[dict]) -> Report:
        total, by_date = Totals(), []
        for d, h in zip(period, hashes):
            day = Totals()
            day.add_hash(h)
            total.add(day)
            by_date.append((d, day))
        return Report(total, by_date)
