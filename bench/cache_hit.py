"""Cache-hit latency against a direct call to the upstream (`python -m bench.cache_hit`; part of `make bench`).

One request is stored through Tokenyard with `x-tokenyard-cache: on`, then the same request is sent
`calls` times to the upstream directly and through Tokenyard (a hit each time), alternating, one at a time,
so both see the same box. A hit still passes authentication, rate limits and budget admission at the edge
and is metered; only the router and the upstream are skipped. The uncached call through Tokenyard is
measured alongside for scale.
"""
from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from bench.httpclient import post_request
from bench.scenarios import JSON_MODEL
from bench.setup import Target, mesh_processes, start_mesh, start_upstream, stop_all
from bench.procstats import ProcessGroup

_PATH = "/v1/chat/completions"


def _request(t: Target, body: bytes, cache: bool) -> bytes:
    raw = post_request(t.host, t.port, _PATH, body, t.api_key)
    return raw.replace(b"\r\n\r\n", b"\r\nx-tokenyard-cache: on\r\n\r\n", 1) if cache else raw


def _ms(samples: list[float], pct: int) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1000


async def cache_hit_latency(direct: Target, through: Target, calls: int = 500) -> dict[str, float]:
    body = orjson.dumps({"model": JSON_MODEL, "temperature": 0,
                         "messages": [{"role": "user", "content": "Say something short."}]})
    hit_request, direct_request = _request(through, body, cache=True), _request(direct, body, cache=False)
    plain_request = _request(through, body, cache=False)
    first = await through.client.call(hit_request)          # stores the answer
    if first.status != 200:
        raise RuntimeError(f"storing the answer failed: HTTP {first.status}")
    await asyncio.sleep(0.2)                                  # the store is written off the response path
    async with httpx.AsyncClient() as check:
        seen = await check.post(f"http://{through.host}:{through.port}{_PATH}", content=body, headers={
            "Authorization": f"Bearer {through.api_key}", "Content-Type": "application/json", "x-tokenyard-cache": "on"})
    if seen.headers.get("x-tokenyard-cache") != "hit":
        raise RuntimeError(f"the repeat was not a cache hit: {seen.status_code} {seen.headers.get('x-tokenyard-cache')}")
    hits, directs, plain = [], [], []
    for _ in range(calls):
        plain.append((await through.client.call(plain_request)).latency)
        r = await through.client.call(hit_request)
        if r.status != 200:
            raise RuntimeError(f"cache hit failed: HTTP {r.status}")
        hits.append(r.latency)
        d = await direct.client.call(direct_request)
        directs.append(d.latency)
    return {"g.hit_p50": _ms(hits, 50), "g.hit_p99": _ms(hits, 99), "g.direct_p50": _ms(directs, 50),
            "g.direct_p99": _ms(directs, 99), "g.plain_p50": _ms(plain, 50), "g.plain_p99": _ms(plain, 99),
            "g.calls": calls, "g.hit_mean": statistics.mean(hits) * 1000}


def lines(g: dict[str, float]) -> list[str]:
    return [f"Response cache: a hit answers in {g['g.hit_p50']:.2f} ms p50 / {g['g.hit_p99']:.2f} ms p99 through "
            f"Tokenyard, a direct call to the (instant) upstream in {g['g.direct_p50']:.2f} / {g['g.direct_p99']:.2f} ms "
            f"and the same call through Tokenyard uncached in {g['g.plain_p50']:.2f} / {g['g.plain_p99']:.2f} ms "
            f"({int(g['g.calls'])} sequential calls each, interleaved)."]


def main() -> int:
    upstream, port = start_upstream(1)
    try:
        with tempfile.TemporaryDirectory(prefix="tokenyard-cache-bench-") as tmp:
            mesh, key = start_mesh(Path(tmp), port)
            try:
                through = Target("tokenyard", mesh.http_port, key, mesh_processes(mesh))
                direct = Target("direct", port, "", ProcessGroup({"upstream": upstream[0].pid}))
                t0 = time.perf_counter()
                g = asyncio.run(cache_hit_latency(direct, through))
                print("\n".join(lines(g)), f"({time.perf_counter() - t0:.1f} s)")
            finally:
                mesh.stop()
    finally:
        stop_all(upstream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
