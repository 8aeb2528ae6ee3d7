"""How results reach the terminal: a rich table for people, `--json` for scripts, CSV for spreadsheets.
Tables go to stdout with no colour when it is not a terminal, so pipes get plain text; notes go to stderr."""
from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table


class Output:
    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        # A pipe has no width: tables are laid out wide instead of squeezed into rich's 80-column guess.
        piped = not (hasattr(self.stdout, "isatty") and self.stdout.isatty())
        width = (int(os.environ.get("COLUMNS", 0) or 0) or 250) if piped else None
        self.console = Console(file=self.stdout, highlight=False, soft_wrap=True, width=width)
        self.notes = Console(file=self.stderr, highlight=False, soft_wrap=True)

    def json(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, indent=2, sort_keys=False) + "\n")

    def json_line(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, separators=(",", ":")) + "\n")
        self.stdout.flush()

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None,
              footer: Sequence[Any] | None = None) -> None:
        table = Table(title=title, show_footer=footer is not None, header_style="bold")
        for i, name in enumerate(columns):
            numeric = name in _NUMERIC
            table.add_column(name, justify="right" if numeric else "left",
                             footer=_cell(footer[i]) if footer is not None else "")
        count = 0
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
            count += 1
        if count == 0:
            self.note("(none)")
        self.console.print(table)

    def csv(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        self.stdout.write(buf.getvalue())

    def line(self, text: str) -> None:
        self.console.print(text, markup=False)

    def note(self, text: str) -> None:
        """Side remarks (hints, the key-shown-once warning) go to stderr, so stdout stays data."""
        self.notes.print(text, markup=False)


_NUMERIC = {"requests", "prompt", "completion", "total", "tokens", "cost_usd", "errors", "rpm", "tpm", "pid",
            "failures", "calls", "inflight", "latency_ms", "ttft_ms", "success", "restarts", "http"}


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)
