"""Stored answers of the exact-match response cache, in Redis, bounded per workspace.

An entry is the router's messages of one answer (deltas and final, length-prefixed protos) under
`ty:{c:<workspace>}:e:<digest>` with the entry's TTL. Each workspace also has a size ledger: a sorted set
of its entries by last use (`...:lru`), their sizes (`...:sz`) and the sum (`...:bytes`). All of a
workspace's keys share its hash tag, so the store script runs on one Redis Cluster slot. Storing evicts
the workspace's least recently used entries until it fits in `max_workspace_bytes`; an entry larger than
`max_entry_bytes` is never stored. One workspace's traffic can therefore never evict another's answers,
and Redis memory for the cache is bounded by workspaces x `max_workspace_bytes`.
"""
from __future__ import annotations

import struct

from services.meter.keys import esc
from tokenyard.router.v1 import router_pb2

_LEN = struct.Struct(">I")

# KEYS: entry, lru, sizes, total. ARGV: digest, blob, ttl_ms, now_ms, max_total.
_STORE = """
local digest, blob, ttl, now, max_total = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local prefix = string.sub(KEYS[1], 1, #KEYS[1] - #digest)
local function drop(d)
  local size = tonumber(redis.call('HGET', KEYS[3], d) or '0')
  redis.call('DEL', prefix .. d)
  redis.call('HDEL', KEYS[3], d)
  redis.call('ZREM', KEYS[2], d)
  if size > 0 then redis.call('DECRBY', KEYS[4], size) end
end
-- Entries unused for longer than a TTL have expired: take them off the ledger first.
for _, d in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - ttl)) do drop(d) end
drop(digest)
local size = #blob
while tonumber(redis.call('GET', KEYS[4]) or '0') + size > max_total do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)
  if #oldest == 0 then break end
  drop(oldest[1])
end
redis.call('SET', KEYS[1], blob, 'PX', ttl)
redis.call('ZADD', KEYS[2], now, digest)
redis.call('HSET', KEYS[3], digest, size)
redis.call('INCRBY', KEYS[4], size)
for _, k in ipairs({KEYS[2], KEYS[3], KEYS[4]}) do redis.call('PEXPIRE', k, ttl) end
return size
"""


def encode(messages: list[router_pb2.ChatResponse]) -> bytes:
    return b"".join(_LEN.pack(len(data)) + data for data in (m.SerializeToString() for m in messages))


def decode(blob: bytes) -> list[router_pb2.ChatResponse]:
    out, pos = [], 0
    while pos + _LEN.size <= len(blob):
        (n,) = _LEN.unpack_from(blob, pos)
        pos += _LEN.size
        out.append(router_pb2.ChatResponse.FromString(blob[pos:pos + n]))
        pos += n
    return out


class AnswerStore:
    def __init__(self, client, max_entry_bytes: int, max_workspace_bytes: int, clock_ms) -> None:
        self._redis = client
        self._store = client.register_script(_STORE)
        self.max_entry_bytes = max_entry_bytes
        self._max_total = max_workspace_bytes
        self._clock_ms = clock_ms

    @staticmethod
    def _tag(workspace: str) -> str:
        return f"ty:{{c:{esc(workspace) or '_'}}}"

    async def get(self, workspace: str, digest: str) -> list[router_pb2.ChatResponse] | None:
        tag = self._tag(workspace)
        blob = await self._redis.get(f"{tag}:e:{digest}")
        if blob is None:
            return None
        await self._redis.zadd(f"{tag}:lru", {digest: self._clock_ms()}, xx=True)  # used now: evicted last
        return decode(blob)

    async def put(self, workspace: str, digest: str, messages: list[router_pb2.ChatResponse], ttl_s: float) -> bool:
        """Stores one answer; False when it is larger than an entry may be."""
        blob = encode(messages)
        if len(blob) > self.max_entry_bytes:
            return False
        tag = self._tag(workspace)
        await self._store(keys=[f"{tag}:e:{digest}", f"{tag}:lru", f"{tag}:sz", f"{tag}:bytes"],
                          args=[digest, blob, int(ttl_s * 1000), self._clock_ms(), self._max_total])
        return True

    async def used_bytes(self, workspace: str) -> int:
        return int(await self._redis.get(f"{self._tag(workspace)}:bytes") or 0)
