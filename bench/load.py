"""Load shapes: open-loop fixed arrival rate, closed-loop fixed concurrency, and held-open streams.

Open loop measures each latency from the request's scheduled time, so a slow gateway cannot hide
its queueing by slowing the generator down (no coordinated omission).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bench.httpclient import Client, Result


@dataclass
class Run:
    """The results of one load phase and what it cost the generator."""

    results: list[Result]
    elapsed: float
    generator_cpu: float
    stream: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> list[Result]:
        return [r for r in self.results if r.ok(self.stream)]

    @property
    def error_rate(self) -> float:
        return 1 - len(self.ok) / len(self.results) if self.results else 1.0

    @property
    def throughput(self) -> float:
        return len(self.ok) / self.elapsed if self.elapsed else 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def open_loop(client: Client, request: bytes, rate: float, duration: float, stream: bool = False) -> Run:
    n = max(1, int(rate * duration))
    cpu0, t0 = time.process_time(), time.perf_counter() + 0.01
    tasks = []
    for i in range(n):
        at = t0 + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(client.call(request, start=at)))
    results = await asyncio.gather(*tasks)
    return Run(list(results), time.perf_counter() - t0, time.process_time() - cpu0, stream)


async def closed_loop(client: Client, request: bytes, concurrency: int, duration: float, stream: bool = False) -> Run:
    results: list[Result] = []
    cpu0, t0 = time.process_time(), time.perf_counter()
    deadline = t0 + duration

    async def worker() -> None:
        while time.perf_counter() < deadline:
            results.append(await client.call(request))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(results, time.perf_counter() - t0, time.process_time() - cpu0, stream)


async def hold_open(client: Client, request: bytes, n: int, on_open, timeout: float = 30.0) -> int:
    """Opens `n` streams, waits until each has its first token, calls `on_open()` (which samples memory),
    then drops them all like departing clients. Returns how many streams were open at the sample."""
    tasks = [asyncio.ensure_future(client.call(request)) for _ in range(n)]
    pending = list(client.active)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
        pending = list(client.active)
        if len(pending) + sum(t.done() for t in tasks) >= n and all(c._result and c._result.first for c in pending):
            break
    await asyncio.sleep(0.3)  # let every service settle on its per-stream state
    opened = sum(1 for c in client.active if c._result and c._result.first)
    on_open()
    client.abort_active()
    await asyncio.gather(*tasks, return_exceptions=True)
    return opened
