"""In-process breaker cells: the same rules as the Lua scripts in `breaker_lua`, for when Redis is
unreachable (fail-open: the router keeps serving on what this replica has seen itself).

Every outcome is applied here as well as in Redis, so the local view is warm the moment Redis goes away.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from services.router.policy import BreakerPolicy


@dataclass
class Cell:
    """One deployment's breaker and health counters (times in ms, as in Redis)."""

    st: str = "closed"
    until: float = 0.0
    cd: float = 0.0
    cf: int = 0
    pr: int = 0
    pt: float = 0.0
    buckets: list[list[float]] = field(default_factory=lambda: [[-1, 0, 0] for _ in range(6)])
    ok: int = 0
    fail: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    lat: float = -1.0
    ttft: float = -1.0

    def window(self, now: float, window_ms: float) -> tuple[int, int]:
        b = now // max(1, window_ms // 6)
        calls = fails = 0
        for bid, n, f in self.buckets:
            if bid > b - 6:
                calls, fails = calls + n, fails + f
        return int(calls), int(fails)

    def as_fields(self, now: float, window_ms: float) -> dict[str, object]:
        """The fields GetHealth reads, in the shape the Redis hash gives them."""
        calls, fails = self.window(now, window_ms)
        return {"st": self.st, "until": self.until, "cf": self.cf, "ok": self.ok, "fail": self.fail,
                "lat": self.lat, "ttft": self.ttft, "calls": calls, "fails": fails, "errors": dict(self.errors)}


class LocalBreakers:
    def __init__(self, policy: BreakerPolicy) -> None:
        self._p = policy
        self._cells: dict[str, Cell] = {}

    def cell(self, name: str) -> Cell:
        c = self._cells.get(name)
        if c is None:
            c = self._cells[name] = Cell(cd=self._p.cooldown * 1000)
        return c

    def acquire(self, names: list[str], now: float, stale_ms: float) -> tuple[str | None, float | None]:
        """(admitted deployment, earliest reopen ms when none is admitted)."""
        reopen = None
        for name in names:
            c = self.cell(name)
            if c.st == "closed":
                return name, None
            if c.st == "open" and now >= c.until:
                c.st, c.pr, c.pt = "half_open", 1, now
                return name, None
            if c.st == "half_open" and (c.pr < self._p.probes or now - c.pt > stale_ms):
                c.pr, c.pt = (1 if now - c.pt > stale_ms else c.pr + 1), now
                return name, None
            if c.st == "open" and (reopen is None or c.until < reopen):
                reopen = c.until
        return None, reopen

    def record(self, name: str, ok: bool, kind: str, latency_ms: float, ttft_ms: float, now: float,
               force_open: bool = False) -> Cell:
        p, c = self._p, self.cell(name)
        window_ms = p.window * 1000
        b = now // max(1, window_ms // 6)
        bucket = c.buckets[int(b % 6)]
        if bucket[0] != b:
            bucket[:] = [b, 0, 0]
        bucket[1] += 1
        if not ok:
            bucket[2] += 1
        calls, fails = c.window(now, window_ms)
        if c.st == "half_open":
            c.pr = max(0, c.pr - 1)
        if ok:
            c.cf, c.ok = 0, c.ok + 1
            if latency_ms >= 0:
                c.lat = latency_ms if c.lat < 0 else c.lat * 0.8 + latency_ms * 0.2
            if ttft_ms >= 0:
                c.ttft = ttft_ms if c.ttft < 0 else c.ttft * 0.8 + ttft_ms * 0.2
            if c.st == "half_open":
                c.st, c.cd, c.until = "closed", p.cooldown * 1000, 0.0
                for bk in c.buckets:
                    bk[1] = bk[2] = 0
        else:
            c.cf, c.fail = c.cf + 1, c.fail + 1
            c.errors[kind] = c.errors.get(kind, 0) + 1
            if c.st == "half_open":
                c.st, c.cd = "open", min(c.cd * 2, p.max_cooldown * 1000)
                c.until = now + c.cd
            elif c.st == "closed" and (force_open or c.cf >= p.consecutive
                                       or (calls >= p.min_calls and fails / calls >= p.ratio)):
                c.st = "open"
                c.cd = p.max_cooldown * 1000 if force_open else p.cooldown * 1000
                c.until = now + c.cd
        return c
