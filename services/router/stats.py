"""Per-replica load and latency signals for load balancing: in-flight requests, a peak-EWMA of time
to first token, a decaying count of recent failures, and recent TTFTs for the hedge delay's p95.

Why local, not in Redis: these change on every request and every token, and they describe *this*
replica's view (its own in-flight load, its own network path). Sharing them would cost Redis writes
on every request start and end and would be stale by the time another replica read them; p2c needs
only a good-enough, instantly available estimate. What must agree across replicas (breakers, health,
the upstream registry) is shared; see `breaker.py`.
"""
from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

_TAU = 10.0           # seconds: how fast an old latency or failure stops mattering
_FAILURE_PENALTY = 4.0
_SAMPLES = 128
_UNMEASURED = 1e9     # score of a deployment whose first call is still out: see `score`


class DeploymentStats:
    __slots__ = ("inflight", "ewma", "stamp", "fails", "fail_stamp", "ttfts")

    def __init__(self) -> None:
        self.inflight = 0
        self.ewma = 0.0
        self.stamp = 0.0
        self.fails = 0.0
        self.fail_stamp = 0.0
        self.ttfts: deque[float] = deque(maxlen=_SAMPLES)


class LocalStats:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._by_name: dict[str, DeploymentStats] = {}

    def get(self, name: str) -> DeploymentStats:
        s = self._by_name.get(name)
        if s is None:
            s = self._by_name[name] = DeploymentStats()
        return s

    def names(self) -> list[str]:
        return list(self._by_name)

    def started(self, name: str) -> None:
        self.get(name).inflight += 1

    def finished(self, name: str) -> None:
        s = self.get(name)
        s.inflight = max(0, s.inflight - 1)

    def observe_ttft(self, name: str, seconds: float) -> None:
        """Peak-EWMA: a slower observation takes over at once, faster ones pull it down gradually."""
        s, now = self.get(name), self._now()
        ms = seconds * 1000
        if ms > s.ewma:
            s.ewma = ms
        else:
            w = math.exp(-(now - s.stamp) / _TAU)
            s.ewma = s.ewma * w + ms * (1 - w)
        s.stamp = now
        s.ttfts.append(seconds)

    def observe_failure(self, name: str) -> None:
        s, now = self.get(name), self._now()
        s.fails = s.fails * math.exp(-(now - s.fail_stamp) / _TAU) + 1
        s.fail_stamp = now

    def forgive(self, name: str) -> None:
        """Drops the failure penalty: the deployment's breaker probe succeeded after its cooldown."""
        self.get(name).fails = 0.0

    def score(self, name: str, weight: float) -> float:
        """Lower is better: expected wait (latency x queue) scaled by recent failures and weight.

        A deployment with no latency measured yet scores as the best while idle (so it gets a first
        call) but as the worst while that call is out: scored as zero latency, every request that
        arrived before its first answer would pile onto a newly added or just-restarted deployment
        that may be the slowest of the group (Finagle's peak-EWMA does the same).
        """
        s, now = self.get(name), self._now()
        if not s.ttfts and s.inflight:
            return _UNMEASURED + s.inflight
        fails = s.fails * math.exp(-(now - s.fail_stamp) / _TAU) if s.fails else 0.0
        return (s.ewma + 1.0) * (s.inflight + 1) * (1 + _FAILURE_PENALTY * fails) / weight

    def p95_ttft(self, name: str) -> float | None:
        samples = self.get(name).ttfts
        if len(samples) < 5:
            return None
        ordered = sorted(samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
