"""Soak: mixed traffic (streaming and not, healthy and misbehaving upstreams, vanishing clients) for
TOKENYARD_SOAK_SECONDS (60 in `make test-chaos`, 600 in `make soak`). After a warm-up, each service's
resident memory grows under 10% and its open fds and asyncio tasks do not grow."""
from __future__ import annotations

import asyncio
import os
import time

import httpx
import pytest

from tests.chaos.load import Load
from tests.chaos.support import auth, edge_url, probe, stream_chat
from tests.chaos.test_chaos_clients import _vanishing_stream

SECONDS = float(os.environ.get("TOKENYARD_SOAK_SECONDS", "60"))
SERVICES = ("edge", "router", "meter")


async def _faults(mesh, stop: asyncio.Event, tally: dict) -> None:
    async with httpx.AsyncClient(base_url=edge_url(mesh), headers=auth(), timeout=20) as client:
        i = 0
        while not stop.is_set():
            case = ("mb-reset-mid", "mb-html-200", "mb-invalid-json", "fake-error-500", "mb-sse-garbage")[i % 5]
            end = await stream_chat(client, case, 15)
            tally[end.kind] = tally.get(end.kind, 0) + 1
            if i % 3 == 0:
                await _vanishing_stream(mesh.http_port, "mb-slow-50")
            i += 1


def _settle(mesh) -> dict:
    time.sleep(2)
    return {s: probe(mesh, s) for s in SERVICES}


@pytest.mark.chaos
@pytest.mark.timeout(SECONDS * 2 + 120)
def test_soak_mixed_traffic_no_growth(chaos_mesh, results):
    tally: dict = {}

    async def phase(seconds: float) -> Load:
        load, stop = Load(chaos_mesh), asyncio.Event()
        tasks = [asyncio.create_task(load.run(stop, concurrency=6)), asyncio.create_task(_faults(chaos_mesh, stop, tally))]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
        return load

    asyncio.run(phase(min(20.0, SECONDS / 3)))  # warm-up: pools, caches, tokenizer
    before = _settle(chaos_mesh)
    load = asyncio.run(phase(SECONDS))
    after = _settle(chaos_mesh)
    bad = [rid for rid, s in load.statuses.items() if s != 200]
    figures = {}
    for s in SERVICES:
        growth = (after[s].rss - before[s].rss) / before[s].rss
        figures[f"{s}_rss_growth_pct"] = round(growth * 100, 1)
        figures[f"{s}_fds"] = f"{before[s].fds}->{after[s].fds}"
        figures[f"{s}_tasks"] = f"{before[s].tasks}->{after[s].tasks}"
        assert growth < 0.10, (s, figures)
        assert after[s].fds <= before[s].fds + 2 and after[s].tasks <= before[s].tasks + 2, (s, figures)
    assert not bad, f"{len(bad)} healthy requests failed"
    assert tally.get("silent", 0) == tally.get("timeout", 0) == 0, tally
    variant = "full" if SECONDS >= 600 else "fast"
    results.record("soak", f"{SECONDS:g} s mixed traffic", len(load.statuses) + sum(tally.values()),
                   f"{len(load.statuses)} healthy requests all 200; faults: "
                   + ", ".join(f"{n} {k}" for k, n in sorted(tally.items())), variant=variant, figures=figures)
