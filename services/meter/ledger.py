"""Usage in Redis: one record per request, applied exactly once, and per-day aggregates.

One Lua script checks the request id and applies the record and every aggregate increment
atomically, so a retried or duplicated record can never count twice and a crash can never leave a
record without its aggregates. Keys of one day share the hash tag `{u:DATE}` (the record's own day),
so the script runs on Redis Cluster too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import redis.asyncio as redis

from services.meter.periods import day_of, days
from tokenyard.meter.v1 import meter_pb2

RECORD_TTL_SECONDS = 400 * 86400  # records outlive the longest period a query can ask about

_APPLY = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local nrec = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + nrec))
redis.call('EXPIRE', KEYS[1], ARGV[1])
for k = 2, #KEYS do
  for i = 3 + nrec, #ARGV, 2 do
    redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1])
  end
  redis.call('EXPIRE', KEYS[k], ARGV[1])
end
return 1
"""

METRICS = ("requests", "prompt_tokens", "completion_tokens", "total_tokens", "errors")


def _tag(day: date) -> str:
    return f"ty:{{u:{day.isoformat()}}}"


def day_key(day: date, key_id: str = "") -> str:
    return f"{_tag(day)}:day:key:{key_id}" if key_id else f"{_tag(day)}:day"


@dataclass
class Totals:
    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    by_model: dict[str, dict[str, int]] = field(default_factory=dict)


class Ledger:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._apply = client.register_script(_APPLY)

    async def apply(self, records: list[meter_pb2.UsageRecord]) -> tuple[int, int]:
        """Applies a batch in one round trip; returns (applied, duplicates)."""
        pipe = self._redis.pipeline(transaction=False)
        for r in records:
            keys, args = self._script_args(r)
            await self._apply(keys=keys, args=args, client=pipe)
        results = await pipe.execute()
        applied = sum(1 for x in results if x == 1)
        return applied, len(results) - applied

    @staticmethod
    def _script_args(r: meter_pb2.UsageRecord) -> tuple[list[str], list]:
        day = day_of(r.started_at_ms)
        u = r.usage
        record = ["request_id", r.request_id, "key_id", r.caller.key_id, "workspace", r.caller.workspace,
                  "agent_id", r.caller.agent_id, "model", r.model, "deployment", r.deployment,
                  "prompt_tokens", u.prompt_tokens, "completion_tokens", u.completion_tokens,
                  "total_tokens", u.total_tokens, "cached_tokens", u.cached_tokens, "estimated", int(u.estimated),
                  "latency_ms", r.latency_ms, "ttft_ms", r.ttft_ms, "status", r.status,
                  "started_at_ms", r.started_at_ms]
        error = 0 if r.status in ("ok", "cancelled") else 1
        incr = []
        for prefix in ("", f"m:{r.model}:"):
            incr += [prefix + "requests", 1, prefix + "prompt_tokens", u.prompt_tokens,
                     prefix + "completion_tokens", u.completion_tokens, prefix + "total_tokens", u.total_tokens,
                     prefix + "errors", error]
        keys = [f"{_tag(day)}:req:{r.request_id}", day_key(day)]
        if r.caller.key_id:
            keys.append(day_key(day, r.caller.key_id))
        return keys, [RECORD_TTL_SECONDS, len(record), *record, *incr]

    async def totals(self, start: date, end: date, key_id: str = "") -> Totals:
        pipe = self._redis.pipeline(transaction=False)
        for d in days(start, end):
            pipe.hgetall(day_key(d, key_id))
        out = Totals()
        for raw in await pipe.execute():
            for f, v in raw.items():
                name, amount = f.decode(), int(v)
                if name.startswith("m:"):
                    model, metric = name[2:].rsplit(":", 1)
                    bucket = out.by_model.setdefault(model, dict.fromkeys(METRICS, 0))
                    bucket[metric] += amount
                elif name in out.values:
                    out.values[name] += amount
        return out

    async def record(self, request_id: str, started_at_ms: int) -> dict[str, str]:
        raw = await self._redis.hgetall(f"{_tag(day_of(started_at_ms))}:req:{request_id}")
        return {k.decode(): v.decode() for k, v in raw.items()}
