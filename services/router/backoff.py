"""Retry timing: exponential backoff with full jitter, Retry-After honoured, never past the deadline."""
from __future__ import annotations

import random

from services.router.policy import RetryPolicy


def full_jitter(retry: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Delay before retry number `retry` (0-based): uniform(0, min(cap, base * 2**retry)).

    Full jitter (AWS architecture blog) spreads the retries of many clients that failed together,
    which is exactly when an upstream is least able to take a synchronized second wave.
    """
    return rng.uniform(0.0, min(policy.cap, policy.base * (2 ** retry)))


def retry_delay(retry: int, policy: RetryPolicy, rng: random.Random, retry_after: float | None,
                remaining: float) -> float | None:
    """Seconds to wait before the next attempt, or None when waiting would pass the deadline.

    The upstream's Retry-After is a floor: retrying sooner only earns another 429.
    """
    delay = full_jitter(retry, policy, rng)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay if delay < remaining else None


class HedgeBudget:
    """Caps hedges to a share of upstream calls: every primary attempt earns `ratio` of a hedge
    (up to `burst` saved), every hedge spends one.

    Local per replica on purpose: each replica keeping its own hedges under 10% keeps the fleet under
    10%, and a shared counter would put a Redis round trip exactly where the request is already late.
    """

    def __init__(self, ratio: float, burst: float = 10.0) -> None:
        self._ratio = ratio
        self._burst = burst
        self._tokens = min(burst, 1.0) if ratio > 0 else 0.0

    def earn(self) -> None:
        self._tokens = min(self._burst, self._tokens + self._ratio)

    def try_spend(self) -> bool:
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
