"""Usage in Redis: one record per request, applied exactly once, with its cost and per-day aggregates.

One Lua script checks the request id and writes the record, every aggregate increment and every
index entry atomically, so a retried or duplicated record can never count twice and a crash can
never leave a record without its aggregates. All keys of one record share the hash tag of the
record's own UTC day (`{u:DATE}`), so the script runs on Redis Cluster too.

Aggregates per day, each with a by-model breakdown: everything; each workspace; and per API key,
agent, user and session, both across workspaces and inside their workspace (what a workspace's own
caller may see). Cost is computed here from the price book, in integer micro-dollars.
"""
from __future__ import annotations

import redis.asyncio as redis

from services.common.pricing import PriceBook
from services.common.script_pipeline import ScriptPipeline
from services.meter import keys
from services.meter.periods import day_of
from tokenyard.meter.v1 import meter_pb2

RECORD_TTL_SECONDS = 400 * 86400  # records outlive the longest period a query can ask about

METRICS = ("requests", "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "cost_micros",
           "errors")

_APPLY = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local ttl = ARGV[1]
local nrec = tonumber(ARGV[2])
local nh = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + nrec))
redis.call('EXPIRE', KEYS[1], ttl)
local p = 4 + nrec
local nincr = tonumber(ARGV[p])
for k = 2, 1 + nh do
  for i = p + 1, p + 2 * nincr, 2 do
    redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1])
  end
  redis.call('EXPIRE', KEYS[k], ttl)
end
local s = p + 2 * nincr + 1
for k = 2 + nh, #KEYS do
  redis.call('SADD', KEYS[k], ARGV[s + k - 2 - nh])
  redis.call('EXPIRE', KEYS[k], ttl)
end
return 1
"""


def subject_values(caller) -> dict[str, str]:
    """The non-empty dimensions of a caller: key, agent, user, session."""
    values = {"key": caller.key_id, "agent": caller.agent_id, "user": caller.user, "session": caller.session_id}
    return {k: v for k, v in values.items() if v}


class Ledger:
    def __init__(self, client: redis.Redis, pricing: PriceBook | None = None) -> None:
        self._redis = client
        self._pricing = pricing or PriceBook()
        self._apply = client.register_script(_APPLY)

    def cost(self, r: meter_pb2.UsageRecord) -> int:
        return self._pricing.cost_micros(r.model, r.deployment, r.usage)

    def queue_apply(self, pipe: ScriptPipeline, r: meter_pb2.UsageRecord, cost_micros: int) -> None:
        """Adds the record's script call to a pipeline; its result is 1 (applied) or 0 (duplicate)."""
        keys_, args = self._script_args(r, cost_micros)
        pipe.script(self._apply, keys_, args)

    @staticmethod
    def _script_args(r: meter_pb2.UsageRecord, cost: int) -> tuple[list[str], list]:
        day = day_of(r.started_at_ms)
        u, c = r.usage, r.caller
        record = ["request_id", r.request_id, "key_id", c.key_id, "workspace", c.workspace, "agent_id", c.agent_id,
                  "tier", c.tier, "user", c.user, "session_id", c.session_id, "model", r.model,
                  "deployment", r.deployment, "prompt_tokens", u.prompt_tokens,
                  "completion_tokens", u.completion_tokens, "total_tokens", u.total_tokens,
                  "cached_tokens", u.cached_tokens, "estimated", int(u.estimated), "cost_micros", cost,
                  "latency_ms", r.latency_ms, "ttft_ms", r.ttft_ms, "status", r.status,
                  "started_at_ms", r.started_at_ms]
        error = 0 if r.status in ("ok", "cancelled") else 1
        values = (1, u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cached_tokens, cost, error)
        incr: list = []
        model = keys.esc(r.model)
        for prefix in ("", f"m:{model}:"):
            for metric, value in zip(METRICS, values):
                incr += [prefix + metric, value]
        hashes, sets, members = [keys.scope_key(day)], [], []
        dims = subject_values(c)
        for scope in (None, c.workspace) if c.workspace else (None,):
            if scope is not None:
                hashes.append(keys.scope_key(day, scope))
                sets.append(keys.index_key(day, "workspace"))
                members.append(scope)
            for kind, value in dims.items():
                hashes.append(keys.dim_key(day, kind, value, scope))
                sets.append(keys.index_key(day, kind, scope))
                members.append(value)
        args = [RECORD_TTL_SECONDS, len(record), len(hashes), *record, len(incr) // 2, *incr, *members]
        return [keys.record_key(day, r.request_id), *hashes, *sets], args

    async def record(self, request_id: str, started_at_ms: int) -> dict[str, str]:
        raw = await self._redis.hgetall(keys.record_key(day_of(started_at_ms), request_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

