"""Load for the mesh-fault tests: requests with their own ids, and an audit of the meter afterwards
(every answered request recorded exactly once)."""
from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from dataclasses import dataclass, field

import httpx
import redis.asyncio as aioredis

from services.meter import keys
from services.meter.periods import day_of
from tests.chaos.support import auth, edge_url

MODELS = ("fake-echo", "mb-ok", "fake-echo-stream", "mb-ok-stream")


@dataclass
class Load:
    mesh: object
    prefix: str = field(default_factory=lambda: "chaos-" + secrets.token_hex(4))
    statuses: dict[str, int] = field(default_factory=dict)
    """Request id -> status the client saw (0: transport error)."""

    async def run(self, stop: asyncio.Event, concurrency: int = 8) -> None:
        counter = itertools.count()
        async with httpx.AsyncClient(base_url=edge_url(self.mesh), headers=auth(), timeout=30) as client:
            async def worker() -> None:
                while not stop.is_set():
                    await self.one(client, next(counter))

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def one(self, client: httpx.AsyncClient, i: int) -> None:
        rid = f"{self.prefix}-{i}"
        model = MODELS[i % len(MODELS)]
        stream = model.endswith("-stream")
        body = {"model": model.removesuffix("-stream"), "stream": stream,
                "messages": [{"role": "user", "content": f"load {i} " + "w " * (i % 9)}]}
        try:
            if stream:
                async with client.stream("POST", "/v1/chat/completions", json=body,
                                         headers={"x-request-id": rid}) as resp:
                    text = "".join([line async for line in resp.aiter_lines()])
                    ok = resp.status_code == 200 and "data: [DONE]" in text and "event: error" not in text
                    self.statuses[rid] = 200 if ok else (resp.status_code if resp.status_code != 200 else 299)
            else:
                resp = await client.post("/v1/chat/completions", json=body, headers={"x-request-id": rid})
                self.statuses[rid] = resp.status_code
        except httpx.TransportError:
            self.statuses[rid] = 0
            await asyncio.sleep(0.05)

    def answered(self) -> list[str]:
        return [rid for rid, status in self.statuses.items() if status == 200]


async def _recorded_client_ids(client, day_ms: int) -> set[str]:
    """The client x-request-ids of today's usage records (records are keyed by key id and server id)."""
    out = set()
    async for k in client.scan_iter(match=keys.record_key(day_of(day_ms), "*", "*"), count=1000):
        cid, attempt = await client.hmget(k, "client_request_id", "attempt_of")
        if cid and not attempt:
            out.add(cid.decode())
    return out


async def audit(redis_url: str, load: Load, timeout: float = 30.0) -> tuple[int, int]:
    """Waits until every answered request has its usage record; returns (missing, extra): answered
    requests without a record, and meter records beyond one per recorded request."""
    client = aioredis.Redis.from_url(redis_url)
    now = int(time.time() * 1000)
    try:
        deadline = time.monotonic() + timeout
        missing = load.answered()
        while missing and time.monotonic() < deadline:
            seen = await _recorded_client_ids(client, now)
            missing = [rid for rid in missing if rid not in seen]
            if missing:
                await asyncio.sleep(0.25)
        seen = await _recorded_client_ids(client, now)
        recorded = [rid for rid in load.statuses if rid in seen]
        return len(missing), len(recorded)
    finally:
        await client.aclose()


def day_requests(mesh) -> int:
    resp = httpx.get(edge_url(mesh) + "/api/v1/usage?period=day", headers=auth(), timeout=10)
    resp.raise_for_status()
    return resp.json()["totals"]["requests"]
