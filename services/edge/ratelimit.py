"""Cluster-wide RPM/TPM limits per key: GCRA in Redis, one atomic script per check.

GCRA keeps one timestamp per limit (the "theoretical arrival time"), so a check is O(1), exact
across any number of edge replicas, and allows a burst of up to the whole per-minute allowance like
OpenAI does. Tokens are charged from the request's estimate before the call and corrected by the
actual usage afterwards (`settle`).

Time is Redis's own (`TIME` inside each script), never a replica's clock: two edges whose clocks disagree
would each read the other's timestamps as past or future and admit more (or fewer) than the limit. The
scripts' first argument shifts that clock: always 0 in service, moved by tests to let time pass.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as redis

PERIOD_MS = 60_000

# KEYS: request-limit key, token-limit key. ARGV: shift_ms, rpm, tpm, tokens.
# Both limits are checked before either is charged, so a refused request costs nothing.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local period = 60000
local out = {1, 0, 0, 0, 0, 0, 0}
local function state(key, limit, cost)
  if limit <= 0 then return nil end
  local interval = period / limit
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + cost * interval
  return {interval, tat, new_tat, new_tat - period > now}
end
local r = state(KEYS[1], tonumber(ARGV[2]), 1)
local t = state(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
local refused = (r and r[4]) or (t and t[4])
if refused then
  out[1] = 0
  local wait = 0
  if r and r[4] then wait = math.max(wait, r[3] - period - now) end
  if t and t[4] then wait = math.max(wait, t[3] - period - now) end
  out[2] = math.ceil(wait)
end
local states = {r, t}
for i = 1, 2 do
  local s = states[i]
  if s then
    local tat = s[2]
    if not refused then
      tat = s[3]
      redis.call('SET', KEYS[i], tostring(tat), 'PX', math.ceil(tat - now) + 1000)
    end
    out[2 + 2 * i - 1] = math.max(0, math.floor((period - (tat - now)) / s[1]))
    out[2 + 2 * i] = math.ceil(tat - now)
  end
end
return out
"""

# KEYS: token-limit key. ARGV: shift_ms, tpm, delta tokens (actual - estimate; may be negative).
_SETTLE = """
local limit = tonumber(ARGV[2])
if limit <= 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
tat = tat + tonumber(ARGV[3]) * (60000 / limit)
if tat <= now then redis.call('DEL', KEYS[1]) return 0 end
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1000)
return 1
"""


# KEYS: request-limit key, token-limit key. ARGV: shift_ms, rpm, tpm, tokens.
# Gives back an admitted request's charge (when a later limit refused it), so refusals stay free.
_REFUND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 1, 2 do
  local limit = tonumber(ARGV[i + 1])
  if limit > 0 then
    local tat = tonumber(redis.call('GET', KEYS[i]) or now)
    local cost = 1
    if i == 2 then cost = tonumber(ARGV[4]) end
    tat = tat - cost * (60000 / limit)
    if tat <= now then redis.call('DEL', KEYS[i])
    else redis.call('SET', KEYS[i], tostring(tat), 'PX', math.ceil(tat - now) + 1000) end
  end
end
return 1
"""


def _duration(ms: int) -> str:
    """OpenAI's reset format: `1s`, `6m0s`, `250ms`."""
    if ms < 1000:
        return f"{max(ms, 0)}ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.3g}s"
    return f"{int(s // 60)}m{int(s % 60)}s"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_ms: int
    headers: dict[str, str]


class RateLimiter:
    def __init__(self, client: redis.Redis, shift_ms: Callable[[], int] = lambda: 0) -> None:
        """`shift_ms`: milliseconds added to Redis's clock (tests only; 0 in service)."""
        self._admit = client.register_script(_ADMIT)
        self._settle = client.register_script(_SETTLE)
        self._refund = client.register_script(_REFUND)
        self._shift_ms = shift_ms

    @staticmethod
    def _keys(subject: str) -> list[str]:
        # One hash tag per subject: both keys live in one Redis Cluster slot, so the script may touch both.
        return [f"ty:{{rl:{subject}}}:rpm", f"ty:{{rl:{subject}}}:tpm"]

    async def admit(self, subject: str, rpm: int, tpm: int, tokens: int) -> Decision:
        res = await self._admit(keys=self._keys(subject), args=[self._shift_ms(), rpm, tpm, tokens])
        allowed, wait, rem_r, reset_r, rem_t, reset_t = (int(x) for x in res[:6])
        headers = {}
        if rpm > 0:
            headers.update({"x-ratelimit-limit-requests": str(rpm), "x-ratelimit-remaining-requests": str(rem_r),
                            "x-ratelimit-reset-requests": _duration(reset_r)})
        if tpm > 0:
            headers.update({"x-ratelimit-limit-tokens": str(tpm), "x-ratelimit-remaining-tokens": str(rem_t),
                            "x-ratelimit-reset-tokens": _duration(reset_t)})
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(wait / 1000)))
            headers["retry-after-ms"] = str(wait)
        return Decision(bool(allowed), wait, headers)

    async def settle(self, subject: str, tpm: int, delta_tokens: int) -> None:
        if tpm > 0 and delta_tokens:
            await self._settle(keys=self._keys(subject)[1:], args=[self._shift_ms(), tpm, delta_tokens])

    async def refund(self, subject: str, rpm: int, tpm: int, tokens: int) -> None:
        await self._refund(keys=self._keys(subject), args=[self._shift_ms(), rpm, tpm, tokens])
