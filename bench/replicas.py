"""Replicas that add up exactly: 3 edges, 2 routers, 2 meters on one Redis Cluster (`python -m bench.replicas`).

Each check drives every edge at once and returns what a user would count: requests admitted under an RPM
limit, requests admitted under a budget, whether a breaker one router opened stops the other router's next
call, and how long a revoked key keeps working on each edge. `make bench` runs it after the latency and
throughput scenarios; tests/cluster/test_replicas_exact.py asserts on the same numbers.
"""
from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx

from services.common.redis_cluster_server import LocalRedisCluster
from services.launcher.replicas import ReplicaMesh

CONFIG = """# Generated for the multi-replica checks.
deployments:
  - name: fake
    provider: fake
    models: [fake-echo, fake-slow-20]
  # Its own deployment, so the breaker it trips closes nothing else.
  - name: flaky
    provider: fake
    models: [fake-error-500]
pricing:
  models:
    fake-slow-20: {input: 100, output: 1000}
"""
BODY = {"model": "fake-echo", "max_tokens": 5, "messages": [{"role": "user", "content": "a b c"}]}
SLOW = {"model": "fake-slow-20", "max_tokens": 5, "messages": [{"role": "user", "content": "a b c d e f g h i j"}]}


def start(work_dir: Path, master_key: str) -> tuple[LocalRedisCluster, ReplicaMesh]:
    cluster = LocalRedisCluster(work_dir / "cluster", masters=3, replicas=1).start()
    cfg = work_dir / "tokenyard.yaml"
    cfg.write_text(CONFIG)
    try:
        mesh = ReplicaMesh(cluster.url, work_dir, {"TOKENYARD_MASTER_KEY": master_key,
                                                    "TOKENYARD_CONFIG": str(cfg)}).start()
    except BaseException:
        cluster.stop()
        raise
    return cluster, mesh


async def create_key(client: httpx.AsyncClient, edge: str, master_key: str, **attrs) -> dict:
    resp = await client.post(f"{edge}/api/v1/keys", headers={"Authorization": f"Bearer {master_key}"},
                             json={"workspace": "ws-" + secrets.token_hex(4), **attrs})
    resp.raise_for_status()
    return resp.json()


async def _spread(client: httpx.AsyncClient, edges: list[str], token: str, n: int, body: dict) -> list[httpx.Response]:
    """`n` requests at once, round-robin over `edges`."""
    return await asyncio.gather(*(
        client.post(f"{edges[i % len(edges)]}/v1/chat/completions", json=body,
                    headers={"Authorization": f"Bearer {token}"}) for i in range(n)))


async def rpm_exactness(client, edges, master_key, rpm: int = 60, n: int = 200, clock=time.monotonic) -> dict:
    """`allowed`: what the limit permits over the burst's duration (the burst, plus one request per
    60/rpm seconds it lasted: the limiter refills continuously). On a quiet box the burst takes well under
    a second and `allowed` is `rpm`; on a loaded one, each second the edges take adds one at RPM 60."""
    token = (await create_key(client, edges[0], master_key, rpm=rpm))["key"]
    start = clock()
    responses = await _spread(client, edges, token, n, BODY)
    elapsed = clock() - start
    codes = [r.status_code for r in responses]
    return {"rpm": rpm, "sent": n, "admitted": codes.count(200), "refused_429": codes.count(429),
            "other": len(codes) - codes.count(200) - codes.count(429), "seconds": round(elapsed, 2),
            "allowed": rpm + int(elapsed * rpm / 60)}


async def budget_exactness(client, edges, master_key, requests: int = 10, n: int = 50) -> dict:
    probe = await create_key(client, edges[0], master_key, budget_usd=1.0)
    first = await client.post(f"{edges[0]}/v1/chat/completions", json=SLOW,
                              headers={"Authorization": f"Bearer {probe['key']}"})
    first.raise_for_status()
    per_call = 1_000_000 - round(float(first.headers["x-tokenyard-budget-remaining-usd"]) * 1e6)
    token = (await create_key(client, edges[0], master_key, budget_usd=requests * per_call / 1e6))["key"]
    responses = await _spread(client, edges, token, n, SLOW)
    codes = [r.status_code for r in responses]
    why = sorted({r.json()["error"]["code"] for r in responses if r.status_code != 200})
    return {"budget_requests": requests, "worst_case_micros": per_call, "sent": n, "admitted": codes.count(200),
            "refused_429": codes.count(429), "other": len(codes) - codes.count(200) - codes.count(429),
            "refusals": why}


async def breaker_shared(client, edges, master_key) -> dict:
    """Edge 0 (router 0) calls a failing model until its breaker opens; then edge 1 (router 1) calls once."""
    token = (await create_key(client, edges[0], master_key))["key"]
    body = {**BODY, "model": "fake-error-500"}
    headers = {"Authorization": f"Bearer {token}"}
    opened_after = None
    for i in range(1, 21):
        resp = await client.post(f"{edges[0]}/v1/chat/completions", json=body, headers=headers)
        if resp.status_code == 503:
            opened_after = i
            break
    other = await client.post(f"{edges[1]}/v1/chat/completions", json=body, headers=headers)
    return {"opened_after_requests": opened_after, "other_router_status": other.status_code,
            "other_router_code": other.json()["error"]["code"]}


async def revocation_delay(client, edges, master_key, clock=time.monotonic) -> dict:
    """Seconds from the revoke call's answer until each edge refuses the key (polled every 20 ms)."""
    created = await create_key(client, edges[0], master_key)
    headers = {"Authorization": f"Bearer {created['key']}"}
    for edge in edges:  # every edge has the key cached as valid
        (await client.post(f"{edge}/v1/chat/completions", json=BODY, headers=headers)).raise_for_status()
    revoked = await client.delete(f"{edges[0]}/api/v1/keys/{created['key_id']}",
                                  headers={"Authorization": f"Bearer {master_key}"})
    revoked.raise_for_status()
    at = clock()

    async def refused(edge: str) -> float:
        while clock() - at < 10:
            resp = await client.post(f"{edge}/v1/chat/completions", json=BODY, headers=headers)
            if resp.status_code == 401:
                return clock() - at
            await asyncio.sleep(0.02)
        return float("inf")

    delays = await asyncio.gather(*(refused(e) for e in edges))
    return {"max_s": max(delays), "per_edge_s": [round(d, 3) for d in delays]}


async def run_all(edges: list[str], master_key: str) -> dict:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        return {"rpm": await rpm_exactness(client, edges, master_key),
                "budget": await budget_exactness(client, edges, master_key),
                "breaker": await breaker_shared(client, edges, master_key),
                "revocation": await revocation_delay(client, edges, master_key)}


def measure() -> dict:
    master_key = "ty-bench-" + secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="tokenyard-replicas-") as tmp:
        cluster, mesh = start(Path(tmp), master_key)
        try:
            return asyncio.run(run_all(mesh.edges, master_key))
        finally:
            mesh.stop()
            cluster.stop()


def lines(results: dict) -> list[str]:
    r, b, k, v = results["rpm"], results["budget"], results["breaker"], results["revocation"]
    return [
        "Replicas on one Redis Cluster (3 masters + 3 replicas; 3 edges, 2 routers, 2 meters):",
        f"- RPM {r['rpm']}: {r['admitted']} of {r['sent']} concurrent requests admitted over 3 edges "
        f"({r['refused_429']} got 429, {r['other']} other; the burst took {r['seconds']} s, which allows "
        f"{r['allowed']})",
        f"- budget for {b['budget_requests']} worst-case requests: {b['admitted']} of {b['sent']} admitted "
        f"({b['refused_429']} got 429 {'/'.join(b['refusals'])}, {b['other']} other)",
        f"- breaker opened by router 0 after {k['opened_after_requests']} requests; router 1's next request: "
        f"{k['other_router_status']} {k['other_router_code']}",
        f"- revoked key refused by every edge after {v['max_s'] * 1000:.0f} ms at most "
        f"(per edge: {', '.join(f'{d * 1000:.0f}' for d in v['per_edge_s'])} ms)",
    ]


if __name__ == "__main__":
    print("\n".join(lines(measure())))
    sys.exit(0)
