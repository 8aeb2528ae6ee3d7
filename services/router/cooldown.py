"""Rate-limit cooldowns: a deployment that answered 429 gets no new call until its Retry-After passes.

Why apart from the breaker: a 429 says "this deployment (or this key) is full right now", not "it is
broken". Opening the shared breaker for it would keep the deployment out for a whole breaker cooldown,
for every replica, and a burst of 429s from one tenant's traffic would turn into 503s for everyone. A
cooldown lasts exactly as long as the upstream asked, and only keeps this replica's new calls away.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

DEFAULT_SECONDS = 1.0
"""Cooldown for a 429 that names no Retry-After."""
MAX_SECONDS = 300.0
"""Longest cooldown honoured: a bogus Retry-After must not take a deployment out for a day."""


class Cooldowns:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}

    def cool(self, key: str, seconds: float | None) -> None:
        seconds = DEFAULT_SECONDS if seconds is None else min(MAX_SECONDS, max(0.0, seconds))
        self._until[key] = max(self._until.get(key, 0.0), self._clock() + seconds)

    def cooling(self, key: str) -> bool:
        until = self._until.get(key)
        if until is None:
            return False
        if until <= self._clock():
            del self._until[key]  # bounded: only deployments that 429ed within MAX_SECONDS are kept
            return False
        return True

    def earliest(self, keys: Iterable[str]) -> float | None:
        """The earliest end (Unix seconds) of the given deployments' cooldowns, None when none cools."""
        ends = [self._until[k] for k in keys if self.cooling(k)]
        return min(ends) if ends else None
