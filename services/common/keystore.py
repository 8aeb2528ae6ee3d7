"""Virtual API keys in Redis: shown once at creation, stored only as a SHA-256 digest.

Keys are random 192-bit tokens (`ty-<id>-<secret>`), so a fast unsalted digest is the right tool: there
is nothing to brute-force, and authentication stays one Redis read. The record lives under its digest
(`ty:key:h:<digest>`), and `ty:key:id:<id>` points back to the digest for list/update/revoke; `ty:keys`
indexes the ids. On a Redis Cluster those are three slots, so creation and revocation are single-key
steps, each safe to repeat, ordered so a crash between them leaves at worst an index entry or pointer
that leads nowhere (skipped by `get`/`list`), never a key that authenticates but no listing shows
(and so nobody could revoke). The names are the ones single-Redis deployments already have: no migration.
Revocation is a delete, seen by every edge replica at its next cache refresh (<= 1 s).
"""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass, field, fields

import orjson
import redis.asyncio as redis

_PREFIX = "ty-"
_FORMAT = 2
"""Record format: 2 tells a budget of 0 (nothing may be spent) from none (null)."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class KeyRecord:
    """What a virtual key may do. Rate limits: 0 means no limit. Money in micro-dollars."""

    key_id: str
    workspace: str
    name: str = ""
    agent_id: str = ""
    tier: str = ""
    models: tuple[str, ...] = ()
    """Allowed model names; empty allows every model."""
    rpm: int = 0
    tpm: int = 0
    budget_micros: int | None = None
    """The key's budget per `budget_period`: None is unlimited, 0 allows nothing to be spent."""
    budget_period: str = "month"
    expires_at: int = 0
    """Unix seconds; 0 never expires."""
    created_at: int = 0
    hint: str = ""
    """First and last characters of the token, to recognise it in a list (never enough to use it)."""
    metadata: dict = field(default_factory=dict)

    def expired(self, now: float) -> bool:
        return bool(self.expires_at) and now >= self.expires_at

    def public(self) -> dict:
        """The record as the admin API shows it (no secret: there is none in it)."""
        out = asdict(self)
        out["models"] = list(self.models)
        return out

    def to_redis(self) -> dict[str, str]:
        return {"json": orjson.dumps({**self.public(), "format": _FORMAT}).decode()}

    @classmethod
    def from_redis(cls, raw: dict) -> "KeyRecord":
        data = orjson.loads(raw[b"json"] if b"json" in raw else raw["json"])
        if data.get("format", 1) < 2 and not data.get("budget_micros"):
            data["budget_micros"] = None  # before format 2, a budget of 0 was written for "no budget"
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["models"] = tuple(data.get("models") or ())
        return cls(**data)


class KeyStore:
    def __init__(self, client: redis.Redis, clock=time.time) -> None:
        self._redis = client
        self._clock = clock

    async def create(self, *, workspace: str, **attrs) -> tuple[KeyRecord, str]:
        """Creates a key; returns its record and the token, which is never available again."""
        key_id = "key_" + secrets.token_hex(8)
        token = f"{_PREFIX}{key_id[4:]}-{secrets.token_urlsafe(24)}"
        attrs["models"] = tuple(attrs.get("models") or ())
        record = KeyRecord(key_id=key_id, workspace=workspace, created_at=int(self._clock()),
                           hint=f"{token[:7]}...{token[-4:]}", **attrs)
        d = digest(token)
        await self._redis.sadd("ty:keys", key_id)
        await self._redis.set(f"ty:key:id:{key_id}", d)
        await self._redis.hset(f"ty:key:h:{d}", mapping=record.to_redis())  # last: from here on it works
        return record, token

    async def authenticate(self, token: str) -> KeyRecord | None:
        """The key's record, or None when unknown, revoked or expired."""
        if not token.startswith(_PREFIX):
            return None
        raw = await self._redis.hgetall(f"ty:key:h:{digest(token)}")
        if not raw:
            return None
        record = KeyRecord.from_redis(raw)
        return None if record.expired(self._clock()) else record

    async def get(self, key_id: str) -> KeyRecord | None:
        d = await self._redis.get(f"ty:key:id:{key_id}")
        if d is None:
            return None
        raw = await self._redis.hgetall(f"ty:key:h:{d.decode()}")
        return KeyRecord.from_redis(raw) if raw else None

    async def list(self, workspace: str | None = None) -> list[KeyRecord]:
        ids = sorted(k.decode() for k in await self._redis.smembers("ty:keys"))
        records = [r for r in [await self.get(i) for i in ids] if r is not None]
        return [r for r in records if workspace is None or r.workspace == workspace]

    async def update(self, key_id: str, **changes) -> KeyRecord | None:
        d = await self._redis.get(f"ty:key:id:{key_id}")
        current = await self.get(key_id)
        if d is None or current is None:
            return None
        if "models" in changes:
            changes["models"] = tuple(changes["models"] or ())
        data = {**current.public(), **changes, "key_id": key_id, "created_at": current.created_at, "hint": current.hint}
        data["models"] = tuple(data["models"])
        record = KeyRecord(**data)
        await self._redis.hset(f"ty:key:h:{d.decode()}", mapping=record.to_redis())
        return record

    async def revoke(self, key_id: str) -> bool:
        d = await self._redis.get(f"ty:key:id:{key_id}")
        if d is None:
            return False
        await self._redis.delete(f"ty:key:h:{d.decode()}")  # first: from here on it is refused
        await self._redis.delete(f"ty:key:id:{key_id}")
        await self._redis.srem("ty:keys", key_id)
        return True
