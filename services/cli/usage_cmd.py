"""`tokenyard usage [--period] [--by model|agent|key] [--csv]`: what was spent, grouped one way.

By model comes from /api/v1/usage; by agent or key from /api/v1/usage/summary. Either way the rows are
the same columns, so `--csv` gives one shape whatever the grouping."""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from services.cli.deps import Deps, JsonFlag

FIELDS = ("requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "errors")
_HEAD = ("requests", "prompt", "completion", "total", "cost_usd", "errors")


class Period(str, Enum):
    day = "day"
    week = "week"
    month = "month"


class By(str, Enum):
    model = "model"
    agent = "agent"
    key = "key"


def rows_of(report: dict, by: By) -> list[dict]:
    if by is By.model:
        return [{"name": r["model"], **{f: r[f] for f in FIELDS}} for r in report["by_model"]]
    return [{"name": r["id"], **{f: r[f] for f in FIELDS}} for r in report[f"by_{by.value}"]]


def register(app: typer.Typer, deps: Deps) -> None:
    @app.command("usage")
    def usage(period: Annotated[Period, typer.Option(help="This day, week or month (UTC).")] = Period.day,
              by: Annotated[By, typer.Option(help="Group by model, agent or key.")] = By.model,
              workspace: Annotated[Optional[str], typer.Option(help="Only this workspace (master key).")] = None,
              csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
              json_: JsonFlag = False) -> None:
        """Tokens and cost for the period, grouped by model, agent or key."""
        params = {"period": period.value, **({"workspace": workspace} if workspace else {})}
        path = "/api/v1/usage" if by is By.model else "/api/v1/usage/summary"
        report = deps.api().json("GET", path, params=params)
        rows = rows_of(report, by)
        if json_:
            return deps.out.json({"period": period.value, "start_date": report["start_date"],
                                  "end_date": report["end_date"], "by": by.value, "totals": report["totals"],
                                  "data": rows})
        if csv:
            return deps.out.csv((by.value, *FIELDS), [[r["name"], *(r[f] for f in FIELDS)] for r in rows])
        totals = report["totals"]
        deps.out.table((by.value, *_HEAD), [[r["name"], *(r[f] for f in FIELDS)] for r in rows],
                       title=f"usage this {period.value} ({report['start_date']} to {report['end_date']}, UTC)",
                       footer=["total", *(totals[f] for f in FIELDS)])
