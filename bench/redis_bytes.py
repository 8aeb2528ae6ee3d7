"""Redis bytes per request: records 100,000 usage records through the meter's Recorder into a fresh
embedded Redis and reports what stays in Redis, split into per-period state (aggregates, indexes:
bounded by keys x models x days) and per-request idempotency markers (bounded by their TTL).

    .venv/bin/python -m bench.redis_bytes [--requests 100000] [--keys 10] [--models 3]
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

from services.common.redis_server import LocalRedis
from services.meter.budgets import BudgetStore
from services.meter.ledger import Ledger
from services.meter.recorder import Recorder
from services.meter.tiers import TierBook
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2


def _records(n: int, keys: int, models: int, start_ms: int):
    for i in range(n):
        yield meter_pb2.UsageRecord(
            request_id=f"req-{i:08d}", caller=common_pb2.Caller(key_id=f"key{i % keys}", workspace="acme"),
            model=f"model-{i % models}", deployment="d", status="ok", started_at_ms=start_ms + i % 1000,
            usage=common_pb2.Usage(prompt_tokens=100, completion_tokens=20, total_tokens=120), latency_ms=80)


async def _keys_bytes(client: aioredis.Redis) -> dict[str, tuple[int, int]]:
    """key family ('marker' or 'period state') -> (keys, bytes by MEMORY USAGE)."""
    out = {"per-request": [0, 0], "per-period": [0, 0]}
    async for k in client.scan_iter(count=1000):
        name = k.decode()
        family = "per-request" if (":req:" in name or ":settled:" in name) else "per-period"
        out[family][0] += 1
        out[family][1] += await client.memory_usage(k, samples=0) or 0
    return {k: (v[0], v[1]) for k, v in out.items()}


async def measure(n: int, keys: int, models: int, batch: int = 500, dedup_ttl: int | None = None) -> dict:
    """`dedup_ttl`: marker TTL in seconds; when given, waits it out before measuring (what stays for good)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = LocalRedis(Path(tmp)).start()
        client = aioredis.Redis.from_url(server.url)
        try:
            ttl = {} if dedup_ttl is None else {"dedup_ttl": dedup_ttl}
            budgets = BudgetStore(client) if dedup_ttl is None else BudgetStore(client, dedup_ttl)
            recorder = Recorder(client, Ledger(client, **ttl), budgets, TierBook.from_config(None))
            before = (await client.info("memory"))["used_memory"]
            pending: list = []
            for r in _records(n, keys, models, int(time.time() * 1000)):
                pending.append(r)
                if len(pending) == batch:
                    await recorder.record(pending)
                    pending = []
            if pending:
                await recorder.record(pending)
            if dedup_ttl is not None:
                await asyncio.sleep(dedup_ttl + 1)
                for _ in range(20):  # let active expiry reclaim the markers
                    async for k in client.scan_iter(count=5000):
                        await client.exists(k)
            used = (await client.info("memory"))["used_memory"] - before
            return {"requests": n, "used_memory_delta": used, "families": await _keys_bytes(client)}
        finally:
            await client.aclose()
            server.stop()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=100_000)
    p.add_argument("--keys", type=int, default=10)
    p.add_argument("--models", type=int, default=3)
    p.add_argument("--after-dedup-window", action="store_true",
                   help="markers expire after 1 s and are waited out: what Redis keeps for good")
    a = p.parse_args()
    res = asyncio.run(measure(a.requests, a.keys, a.models, dedup_ttl=1 if a.after_dedup_window else None))
    n = res["requests"]
    print(f"{n} requests, {a.keys} keys x {a.models} models, one day"
          + (", after the dedup window" if a.after_dedup_window else ", within the dedup window"))
    print(f"used_memory delta: {res['used_memory_delta']} bytes = {res['used_memory_delta'] / n:.1f} bytes/request")
    for family, (count, size) in res["families"].items():
        print(f"  {family:12s} {count:7d} keys {size:11d} bytes = {size / n:7.1f} bytes/request")


if __name__ == "__main__":
    main()
