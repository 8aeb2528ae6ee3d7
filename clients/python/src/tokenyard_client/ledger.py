"""Local record of the calls the fallback served, so an app can report (or bill) them once the gateway,
which meters everything else, is back. Optionally appended to a JSON-lines file that outlives the process."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class FallbackUsage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    by_model: dict[str, dict[str, int]] = field(default_factory=dict)
    """Local model name -> {calls, prompt_tokens, completion_tokens}."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class FallbackLedger:
    def __init__(self, path: str | Path | None = None, wall_clock: Callable[[], float] = time.time) -> None:
        self._path = Path(path) if path else None
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._by_model: dict[str, dict[str, int]] = {}

    def record(self, kind: str, model: str, usage: Any) -> None:
        """`usage`: the answer's usage object (or None when the server reported none: counted, 0 tokens)."""
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        with self._lock:
            row = self._by_model.setdefault(model, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0})
            row["calls"] += 1
            row["prompt_tokens"] += prompt
            row["completion_tokens"] += completion
            if self._path is not None:
                line = {"at": self._wall_clock(), "kind": kind, "model": model,
                        "prompt_tokens": prompt, "completion_tokens": completion}
                with self._path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(line) + "\n")

    def snapshot(self) -> FallbackUsage:
        with self._lock:
            rows = {m: dict(r) for m, r in self._by_model.items()}
        return FallbackUsage(calls=sum(r["calls"] for r in rows.values()),
                             prompt_tokens=sum(r["prompt_tokens"] for r in rows.values()),
                             completion_tokens=sum(r["completion_tokens"] for r in rows.values()),
                             by_model=rows)

    def as_dict(self) -> dict:
        usage = self.snapshot()
        return {**asdict(usage), "total_tokens": usage.total_tokens}
