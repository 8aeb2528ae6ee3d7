"""Where the next call goes: the gateway, the fallback, or a health probe first. No I/O here, so the
sync and async clients share one set of rules and the tests can drive them with a fake clock."""
from __future__ import annotations

import threading
from enum import Enum
from typing import Callable


class Route(Enum):
    GATEWAY = "gateway"
    PROBE = "probe"
    """The cooldown is over: ask the gateway's /healthz before sending it real work."""
    FALLBACK = "fallback"


class Failover:
    """Mode `gateway` until a call exhausts its tries, then `fallback` for `cooldown` seconds.

    After the cooldown one caller probes the gateway; a healthy answer returns to the gateway, an
    unhealthy one starts a new cooldown, so a dead gateway sees one probe per cooldown, not one per call.
    """

    def __init__(self, cooldown: float, clock: Callable[[], float]) -> None:
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._fallback_until: float | None = None

    @property
    def mode(self) -> str:
        return "gateway" if self._fallback_until is None else "fallback"

    def route(self) -> Route:
        with self._lock:
            if self._fallback_until is None:
                return Route.GATEWAY
            if self._clock() < self._fallback_until:
                return Route.FALLBACK
            # Whoever sees the cooldown end probes; the others keep using the fallback meanwhile.
            self._fallback_until = self._clock() + self._cooldown
            return Route.PROBE

    def gateway_up(self) -> None:
        with self._lock:
            self._fallback_until = None

    def gateway_down(self) -> None:
        with self._lock:
            self._fallback_until = self._clock() + self._cooldown
