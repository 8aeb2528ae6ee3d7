"""Usage in Redis: per-day aggregates applied exactly once per request, with their cost.

One Lua script sets the request's idempotency marker and applies every aggregate increment and index
entry atomically, so a retried or duplicated record can never count twice and a crash can never leave
half a record counted. All keys of one record share the hash tag of the record's own UTC day
(`{u:DATE}`), so the script runs on Redis Cluster too.

Redis holds no per-request record (issue 21): the record itself goes to the request log store
(services.meter.requestlog). What Redis keeps grows per key/model/day, plus one small marker per
request that expires after the dedup window (a sender re-delivers within minutes, not days).

Aggregates per day, each with a by-model breakdown: everything; each workspace; and per API key,
agent, user and session, both across workspaces and inside their workspace (what a workspace's own
caller may see). Cost is computed here from the price book, in integer micro-dollars.

A record is keyed by (key id, server request id). The record of an extra attempt (`attempt_of` set:
a hedge that lost, an agent that failed before its fallback answered) adds its tokens and cost, but
no request and no error: usage counts the client's request once, with its attempts and hedges
(from the request's own record) as detail.
"""
from __future__ import annotations

import redis.asyncio as redis

from services.common.pricing import PriceBook
from services.common.script_pipeline import ScriptPipeline
from services.meter import keys
from services.meter.periods import day_of
from tokenyard.meter.v1 import meter_pb2

AGGREGATE_TTL_SECONDS = 400 * 86400
"""Per-day aggregates (TOKENYARD_USAGE_AGGREGATE_DAYS): a year and a month of daily history by default."""
DEDUP_TTL_SECONDS = 2 * 86400
"""How long a request id is remembered as applied (TOKENYARD_USAGE_DEDUP_TTL)."""
SUBJECT_TTL_SECONDS = 35 * 86400
"""Per-user and per-session aggregates (TOKENYARD_USAGE_SUBJECT_DAYS): sessions and end-user labels can be
new with every request, so they keep a month, not 400 days (keys, agents and workspaces are bounded)."""
SHORT_LIVED = ("user", "session")

METRICS = ("requests", "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "cost_micros",
           "errors", "attempts", "hedges", "unknown_cost_requests", "estimated_tokens")
"""`estimated_tokens`: the part of total_tokens the router counted itself (the upstream reported none),
so the usage API shows how much of a bill is exact."""

_APPLY = """
-- Records of one UTC day (one hash slot). Per record: skip it if its marker exists, else set the marker
-- and add its increments to a per-batch sum; the sums are applied once per (aggregate, field) at the end, so a
-- batch of n records for the same key costs one set of HINCRBYs, not n. Returns 1/0 (applied/duplicate)
-- per record, in order. Atomic like any script: a batch is applied entirely or not at all.
local ttl = ARGV[1]
local marker_ttl = ARGV[2]
local short_ttl = ARGV[3]
local nrecords = tonumber(ARGV[4])
local sums, touched, out = {}, {}, {}
local p = 5
-- A negative key reference marks a per-user / per-session key: it keeps the shorter retention.
local function key_ttl(n) if n < 0 then return KEYS[-n], short_ttl end return KEYS[n], ttl end
for r = 1, nrecords do
  local rk = KEYS[tonumber(ARGV[p])]
  local nh, nincr = tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2])
  local hashes = p + 3
  local incr = hashes + nh
  local sets = incr + 2 * nincr
  local nsets = tonumber(ARGV[sets])
  if not redis.call('SET', rk, '1', 'NX', 'EX', marker_ttl) then
    out[r] = 0
  else
    out[r] = 1
    for h = hashes, hashes + nh - 1 do
      local k = ARGV[h]
      local sum = sums[k]
      if sum == nil then
        sum = {}
        sums[k] = sum
        touched[#touched + 1] = k
      end
      for i = incr, incr + 2 * nincr - 1, 2 do
        sum[ARGV[i]] = (sum[ARGV[i]] or 0) + tonumber(ARGV[i + 1])
      end
    end
    for i = sets + 1, sets + 2 * nsets, 2 do
      local sk, sttl = key_ttl(tonumber(ARGV[i]))
      redis.call('SADD', sk, ARGV[i + 1])
      redis.call('EXPIRE', sk, sttl)
    end
  end
  p = sets + 1 + 2 * nsets
end
for _, k in ipairs(touched) do
  local key, kttl = key_ttl(tonumber(k))
  for field, value in pairs(sums[k]) do
    redis.call('HINCRBY', key, field, string.format('%d', value))
  end
  redis.call('EXPIRE', key, kttl)
end
return out
"""


def subject_values(caller) -> dict[str, str]:
    """The non-empty dimensions of a caller: key, agent, user, session."""
    values = {"key": caller.key_id, "agent": caller.agent_id, "user": caller.user, "session": caller.session_id}
    return {k: v for k, v in values.items() if v}


class Ledger:
    def __init__(self, client: redis.Redis, pricing: PriceBook | None = None,
                 dedup_ttl: int = DEDUP_TTL_SECONDS, subject_ttl: int = SUBJECT_TTL_SECONDS,
                 aggregate_ttl: int = AGGREGATE_TTL_SECONDS) -> None:
        self._redis = client
        self._pricing = pricing or PriceBook()
        self._dedup_ttl = dedup_ttl
        self._subject_ttl = min(subject_ttl, aggregate_ttl)
        self._aggregate_ttl = aggregate_ttl
        self._apply = client.register_script(_APPLY)

    def cost(self, r: meter_pb2.UsageRecord) -> int:
        """The record's cost: as its sender priced it, else from the meter's prices (filled into the record,
        with whether the price is known)."""
        if not r.HasField("cost_micros"):
            r.cost_micros, r.cost_known = self._pricing.quote(r.model, r.deployment, r.usage)
        return r.cost_micros

    def queue_apply(self, pipe: ScriptPipeline, records: list[tuple[meter_pb2.UsageRecord, int]]) -> list[list[int]]:
        """Adds one script call per UTC day of `records` ((record, cost) pairs) to a pipeline. Returns, per call
        queued, the positions in `records` it covers; its reply holds 1 (applied) or 0 (duplicate) per position."""
        by_day: dict[str, list[int]] = {}
        for i, (r, _) in enumerate(records):
            by_day.setdefault(day_of(r.started_at_ms).isoformat(), []).append(i)
        for positions in by_day.values():
            keys_, args = self._script_args([records[i] for i in positions])
            pipe.script(self._apply, keys_, args)
        return list(by_day.values())

    def _script_args(self, records: list[tuple[meter_pb2.UsageRecord, int]]) -> tuple[list[str], list]:
        """Keys are listed once and referred to by position (1-based, as Lua's KEYS); aggregates too, so the
        script can sum every record's increments per aggregate before writing them."""
        keys_: list[str] = []
        index: dict[str, int] = {}

        def ref(k: str) -> int:
            if k not in index:
                keys_.append(k)
                index[k] = len(keys_)
            return index[k]

        args: list = [self._aggregate_ttl, self._dedup_ttl, self._subject_ttl, len(records)]
        for r, cost in records:
            known = not r.HasField("cost_known") or r.cost_known
            day = day_of(r.started_at_ms)
            u, c = r.usage, r.caller
            own = 0 if r.attempt_of else 1
            error = 0 if r.status in ("ok", "cancelled") else own
            values = (own, u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cached_tokens, cost, error,
                      max(r.attempts, 1) * own, r.hedges * own, (0 if known else 1) * own,
                      u.total_tokens if u.estimated else 0)
            incr: list = []
            model = keys.esc(r.model)
            # d:<deployment>: the overview's by-deployment breakdown, kept per day like by-model.
            for prefix in ("", f"m:{model}:", f"d:{keys.esc(r.deployment)}:" if r.deployment else None):
                if prefix is None:
                    continue
                for metric, value in zip(METRICS, values):
                    incr += [prefix + metric, value]
            hashes, sets = [keys.scope_key(day)], []
            dims = subject_values(c)
            for scope in (None, c.workspace) if c.workspace else (None,):
                if scope is not None:
                    hashes.append(keys.scope_key(day, scope))
                    sets += [ref(keys.index_key(day, "workspace")), scope]
                for kind, value in dims.items():
                    sign = -1 if kind in SHORT_LIVED else 1
                    hashes.append((keys.dim_key(day, kind, value, scope), sign))
                    sets += [sign * ref(keys.index_key(day, kind, scope)), value]
            refs = [ref(h) if isinstance(h, str) else h[1] * ref(h[0]) for h in hashes]
            args += [ref(keys.record_key(day, c.key_id, r.request_id)), len(hashes), len(incr) // 2,
                     *refs, *incr, len(sets) // 2, *sets]
        return keys_, args
