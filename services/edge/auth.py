"""Who is calling: the master key or a virtual key, resolved to a Caller and the key's limits.

Lookups are cached per process for `cache_ttl` (default 0.5 s): at thousands of requests per second
that removes a Redis round trip from nearly every request, and a revoked key still stops working on
every replica within one second (the issue's bound), because no entry outlives the TTL.
"""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from services.common.keystore import KeyRecord, KeyStore
from tokenyard.common.v1 import common_pb2

MASTER_ID = "master"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. `record` is None for the master key (no limits, sees everything)."""

    caller: common_pb2.Caller
    record: KeyRecord | None

    @property
    def is_master(self) -> bool:
        return self.record is None

    def may_use(self, model: str) -> bool:
        # `tier/<name>` is decided by the meter (the key's tier, quota and overage policy), `agent/<id>` by
        # the agent's workspace (services/edge/agent_model.py).
        return (self.record is None or not self.record.models or model in self.record.models
                or model.startswith(("tier/", "agent/")))

    def sees(self, model: str) -> bool:
        """Whether `GET /v1/models` lists `model` for this key: its allowed models, or everything."""
        return self.record is None or not self.record.models or model in self.record.models

    def owns_workspace(self, workspace: str) -> bool:
        return self.record is None or self.record.workspace == workspace


class Authenticator:
    def __init__(self, master_key: str, keys: KeyStore, cache_ttl: float = 0.5, clock=time.monotonic,
                 max_entries: int = 50_000) -> None:
        self._master = master_key.encode()
        self._master_principal = Principal(common_pb2.Caller(key_id=MASTER_ID), None)
        self._keys = keys
        self._ttl = cache_ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._max = max_entries

    async def authenticate(self, token: str) -> Principal | None:
        if hmac.compare_digest(token.encode(), self._master):
            return self._master_principal
        now = self._clock()
        hit = self._cache.get(token)
        if hit is not None and hit[0] > now:
            return hit[1]
        record = await self._keys.authenticate(token)
        principal = None
        if record is not None:
            principal = Principal(common_pb2.Caller(key_id=record.key_id, workspace=record.workspace,
                                                    agent_id=record.agent_id, tier=record.tier), record)
        if len(self._cache) >= self._max:
            self._cache.clear()
        self._cache[token] = (now + self._ttl, principal)
        return principal
