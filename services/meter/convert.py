"""Domain results -> meter protos (kept apart so the servicer stays proto-in, proto-out glue)."""
from __future__ import annotations

from services.meter.ledger import METRICS
from services.meter.tiers import TierBook
from services.meter.usage_query import Report, Totals
from tokenyard.meter.v1 import meter_pb2

PERIODS = {meter_pb2.PERIOD_DAY: "day", meter_pb2.PERIOD_WEEK: "week", meter_pb2.PERIOD_MONTH: "month"}
PERIOD_ENUM = {v: k for k, v in PERIODS.items()}
KINDS = {meter_pb2.SUBJECT_KIND_KEY: "key", meter_pb2.SUBJECT_KIND_AGENT: "agent",
         meter_pb2.SUBJECT_KIND_WORKSPACE: "workspace"}
KIND_ENUM = {v: k for k, v in KINDS.items()}
POLICY_ENUM = {"log": meter_pb2.OVERAGE_POLICY_LOG, "degrade": meter_pb2.OVERAGE_POLICY_DEGRADE,
               "block": meter_pb2.OVERAGE_POLICY_BLOCK}


def totals(values: dict[str, int]) -> meter_pb2.UsageTotals:
    return meter_pb2.UsageTotals(**{k: values[k] for k in METRICS})


def by_model(t: Totals) -> list[meter_pb2.ModelUsage]:
    return [meter_pb2.ModelUsage(model=m, totals=totals(v)) for m, v in sorted(t.by_model.items())]


def report_fields(report: Report) -> dict:
    return {"totals": totals(report.totals.values), "by_model": by_model(report.totals),
            "by_date": [meter_pb2.DateUsage(date=d.isoformat(), totals=totals(t.values), by_model=by_model(t))
                        for d, t in report.by_date]}


def as_totals(metrics_by_name: dict[str, dict[str, int]]) -> dict[str, Totals]:
    return {name: Totals(values=dict(values)) for name, values in metrics_by_name.items()}


def subjects(items: dict[str, Totals]) -> list[meter_pb2.SubjectUsage]:
    """Dearest first, then by id, so the top spenders lead."""
    ordered = sorted(items.items(), key=lambda kv: (-kv[1].values["cost_micros"], -kv[1].values["total_tokens"],
                                                     kv[0]))
    return [meter_pb2.SubjectUsage(id=k, totals=totals(v.values)) for k, v in ordered]


def tier_infos(book: TierBook) -> list[meter_pb2.TierInfo]:
    out = []
    for t in book.tiers:
        cheaper = book.cheaper(t)
        out.append(meter_pb2.TierInfo(name=t.name, model=t.model, monthly_tokens=t.monthly_tokens,
                                      price_micros=t.price_micros, overage_policy=POLICY_ENUM[t.overage_policy],
                                      degrade_to=cheaper.name if cheaper else ""))
    return out
