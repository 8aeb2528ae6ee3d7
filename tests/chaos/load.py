"""Load for the mesh-fault tests: requests with their own ids, and an audit of the meter afterwards
(every answered request recorded exactly once)."""
from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from dataclasses import dataclass, field

import httpx

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


async def audit(mesh, load: Load, timeout: float = 30.0) -> tuple[int, int]:
    """Waits until every answered request has its record in the request log; returns (missing, recorded):
    answered requests without a record, and how many of all the requests sent have one."""
    async with httpx.AsyncClient(base_url=edge_url(mesh), headers=auth(), timeout=10) as client:
        async def logged(rid: str) -> bool:  # rid: the client's x-request-id (the server mints its own)
            page = await client.get("/api/v1/requests", params={"client_request_id": rid})
            return page.status_code == 200 and bool(page.json()["data"])  # the meter may still be coming back

        deadline = time.monotonic() + timeout
        missing = load.answered()
        while missing and time.monotonic() < deadline:
            missing = [rid for rid in missing if not await logged(rid)]
            if missing:
                await asyncio.sleep(0.25)
        recorded = [rid for rid in load.statuses if await logged(rid)]
        return len(missing), len(recorded)


def day_requests(mesh) -> int:
    resp = httpx.get(edge_url(mesh) + "/api/v1/usage?period=day", headers=auth(), timeout=10)
    resp.raise_for_status()
    return resp.json()["totals"]["requests"]
