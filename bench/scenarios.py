"""The measured scenarios (issue 3, a-e), each run the same way against any Target.

Every scenario returns flat metrics (`"a.p50@20": 0.81`, in ms, req/s or kB), so the runner can take
medians over repetitions and the report can put direct and Tokenyard side by side. CPU is measured
on the target's own processes: the upstream for `direct`, edge + router + meter + Redis for `tokenyard`.
"""
from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass

from bench import wrk
from bench.load import Run, closed_loop, hold_open, open_loop, percentile
from bench.procstats import cpu_delta
from bench.setup import Target

RATES = (20, 200, 500)
JSON_MODEL = "bench-1"
STREAM_20 = "bench-stream-20"
STREAM_256 = "bench-stream-256"
PACED_20 = "bench-stream-20-d5"  # 5 ms between chunks: a paced upstream, so TTFT is not hidden by queueing
HOLD_MODEL = "bench-stream-2-d120000"  # one token, then silence: a stream that stays open
STREAMS = 16
CONCURRENCY = 64


@dataclass(frozen=True)
class Durations:
    """Seconds per load phase."""

    rate: float
    throughput: float
    stream: float


def _ms(values: list[float], q: float) -> float:
    return percentile(values, q) * 1000


class Scenarios:
    def __init__(self, durations: Durations, use_wrk: bool) -> None:
        self._d = durations
        self._wrk = use_wrk

    async def _measured(self, t: Target, coro) -> tuple[Run | wrk.WrkRun, float]:
        """Runs a load phase; returns it and the CPU seconds the target's processes spent on it."""
        before = t.procs.cpu()
        run = await coro
        return run, sum(cpu_delta(before, t.procs.cpu()).values())

    async def latency(self, t: Target) -> dict[str, float]:
        """a. Non-streaming latency at fixed open-loop arrival rates."""
        out: dict[str, float] = {}
        request = t.request(JSON_MODEL, False)
        for rate in RATES:
            run, cpu = await self._measured(t, open_loop(t.client, request, rate, self._d.rate))
            lat = [r.latency for r in run.ok]
            out[f"a.p50@{rate}"], out[f"a.p99@{rate}"] = _ms(lat, 50), _ms(lat, 99)
            out[f"a.err@{rate}"] = run.error_rate * 100
            out[f"a.cpu@{rate}"] = cpu * 1000 / max(1, len(run.ok))
            out[f"gen.a@{rate}"] = run.generator_cpu * 1000 / max(1, len(run.results))
        return out

    async def throughput(self, t: Target) -> dict[str, float]:
        """b. Closed-loop maximum throughput at concurrency 64 (wrk, or the Python generator)."""
        if self._wrk:
            coro = asyncio.to_thread(wrk.run, t.url, t.body(JSON_MODEL, False), t.api_key, CONCURRENCY,
                                     self._d.throughput)
        else:
            coro = closed_loop(t.client, t.request(JSON_MODEL, False), CONCURRENCY, self._d.throughput)
        run, cpu = await self._measured(t, coro)
        ok = run.throughput * run.elapsed
        return {"b.rps": run.throughput, "b.err": run.error_rate * 100, "b.cpu": cpu * 1000 / max(1.0, ok),
                "gen.b": run.generator_cpu * 1000 / max(1.0, ok)}

    async def traced(self, t: Target) -> dict[str, float]:
        """e. The closed-loop throughput of a second mesh that traces every request to a local OTLP receiver."""
        out = await self.throughput(t)
        return {"e.rps": out["b.rps"], "e.err": out["b.err"], "e.cpu": out["b.cpu"]}

    async def streams(self, t: Target) -> dict[str, float]:
        """c. Streaming at 16 concurrent: unpaced 20- and 256-chunk streams, then a paced 20-chunk one."""
        out: dict[str, float] = {}
        for key, model in (("s20", STREAM_20), ("s256", STREAM_256), ("paced", PACED_20)):
            run, cpu = await self._measured(
                t, closed_loop(t.client, t.request(model, True), STREAMS, self._d.stream, stream=True))
            ok = run.ok
            ttft, ttlt = [r.ttft for r in ok], [r.latency for r in ok]
            out[f"c.{key}.rps"] = run.throughput
            out[f"c.{key}.err"] = run.error_rate * 100
            out[f"c.{key}.ttft50"], out[f"c.{key}.ttft99"] = _ms(ttft, 50), _ms(ttft, 99)
            out[f"c.{key}.ttlt50"], out[f"c.{key}.ttlt99"] = _ms(ttlt, 50), _ms(ttlt, 99)
            out[f"c.{key}.cpu"] = cpu * 1000 / max(1, len(ok))
            out[f"gen.c.{key}"] = run.generator_cpu * 1000 / max(1, len(run.results))
            if key == "paced" and ok:
                # The time between tokens beyond the upstream's own 5 ms pacing, per chunk.
                out["c.gap"] = statistics.median((r.end - r.first) / 19 for r in ok) * 1000
        out["c.cpu_token256"] = out["c.s256.cpu"] / 256
        return out

    @staticmethod
    async def open_streams(t: Target, n: int) -> dict[str, float]:
        """d. Resident memory per service before and while holding `n` open streams; kB per stream."""
        await asyncio.sleep(1.0)  # let the previous phase's connections and buffers drain
        before = t.procs.rss()
        during: dict[str, int] = {}
        opened = await hold_open(t.client, t.request(HOLD_MODEL, True), n, lambda: during.update(t.procs.rss()))
        out = {f"d.rss_warm.{k}": v / 2**20 for k, v in before.items()}
        out.update({f"d.rss_open.{k}": v / 2**20 for k, v in during.items()})
        out["d.opened"] = opened
        out["d.kb_per_stream"] = (sum(during.values()) - sum(before.values())) / 1024 / max(1, opened)
        return out
