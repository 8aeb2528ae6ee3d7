"""Results of the chaos suites, kept as JSON so docs/RELIABILITY.md can be regenerated from them.

Each test records one row per fault or input class: how many cases it tried, what the client saw, and
how much data was lost. Rows are merged by (suite, case) into `tests/chaos/results/results.json`, so a
fast run (`make test`) and a full run (`make test-chaos`, `make soak`) each refresh their own rows.
Files are written only when `TOKENYARD_CHAOS_RESULTS=1` (the make targets set it), so an ordinary test
run never dirties the working tree.
"""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

RESULTS = Path(__file__).resolve().parent / "results" / "results.json"


@dataclass
class Row:
    suite: str
    """`faults`, `clients`, `upstreams`, `hostile` or `soak`."""
    case: str
    cases: int
    client_saw: str
    lost: int = 0
    variant: str = "fast"
    """`fast` (make test) or `full` (make test-chaos / make soak)."""
    passed: bool = True
    figures: dict | None = None


class Results:
    def __init__(self, path: Path = RESULTS) -> None:
        self.path = path
        self.rows: list[Row] = []

    def record(self, suite: str, case: str, cases: int, client_saw: str, lost: int = 0, variant: str = "fast",
               figures: dict | None = None) -> None:
        self.rows.append(Row(suite, case, cases, client_saw, lost, variant, True, figures))

    def write(self) -> None:
        if not self.rows or os.environ.get("TOKENYARD_CHAOS_RESULTS") != "1":
            return
        old = orjson.loads(self.path.read_bytes()) if self.path.exists() else {"rows": []}
        keep = {(r["suite"], r["case"], r["variant"]): r for r in old["rows"]}
        for row in self.rows:
            keep[(row.suite, row.case, row.variant)] = asdict(row)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=self.path.parent).stdout.strip()
        doc = {"updated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit,
               "rows": sorted(keep.values(), key=lambda r: (r["suite"], r["case"], r["variant"]))}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
