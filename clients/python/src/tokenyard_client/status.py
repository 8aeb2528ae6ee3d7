"""What `get_status()` answers: is the gateway alive, is the fallback, and where calls go now."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from tokenyard_client.ledger import FallbackUsage


@dataclass(frozen=True)
class Status:
    gateway: bool
    """The gateway's /healthz answered 200 just now."""
    fallback: str
    """"up", "down", or "disabled" (no fallback configured)."""
    mode: str
    """"gateway" or "fallback": where the next call goes (after the cooldown, a probe decides)."""
    fallback_usage: FallbackUsage

    def as_dict(self) -> dict:
        return {**asdict(self), "fallback_usage": {**asdict(self.fallback_usage),
                                                   "total_tokens": self.fallback_usage.total_tokens}}
