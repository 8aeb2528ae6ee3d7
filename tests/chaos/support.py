"""What every chaos test needs: a mesh of its own (own Redis, so it can be restarted), a misbehaving
upstream, process probes (RSS, open fds, asyncio tasks from /metrics) and an SSE client that says how
each stream ended.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import psutil

from services.common.redis_server import LocalRedis, free_port
from services.launcher.mesh import Mesh

MASTER = "ty-chaos-" + secrets.token_hex(12)

CONFIG = """
deployments:
  - name: fake
    provider: fake
    models: ["fake-*"]
  - name: misbehaving
    provider: openai
    base_url: {base_url}
    api_key: sk-chaos-upstream
    timeouts: {{connect: 1, first_token: 2, idle: 2, total: 60}}
    models: ["mb-*"]
routing:
  # Faults are injected on purpose, over and over: a breaker that opened would turn every later case
  # into a fast 503 and hide what the fault itself does to a client.
  breaker: {{consecutive: 100000, ratio: 1.0, min_calls: 100000, window: 60, cooldown: 1, probes: 1}}
  retry: {{attempts: 2, base: 0.05, cap: 0.2}}
"""


def build_mesh(root: Path, upstream_url: str, extra_env: dict[str, str] | None = None) -> tuple[Mesh, LocalRedis]:
    """A started mesh with its own Redis and a usage spool, logs under `root/logs`."""
    redis = LocalRedis(root / "redis").start()
    cfg = root / "tokenyard.yaml"
    cfg.write_text(CONFIG.format(base_url=upstream_url))
    env = {"TOKENYARD_MASTER_KEY": MASTER, "TOKENYARD_CONFIG": str(cfg), "REDIS_URL": redis.url,
           "TOKENYARD_USAGE_SPOOL": str(root / "spool"), "TOKENYARD_ROUTER_METRICS_PORT": str(free_port()),
           "TOKENYARD_METER_METRICS_PORT": str(free_port()), "TOKENYARD_RUNTIME_METRICS_PORT": str(free_port()),
           "TOKENYARD_SHUTDOWN_GRACE": "3", "TOKENYARD_HEADER_TIMEOUT": "2", "TOKENYARD_BODY_TIMEOUT": "2",
           **(extra_env or {})}
    mesh = Mesh(env=env, data_dir=root / "data", log_dir=root / "logs")
    mesh.start()
    return mesh, redis


def edge_url(mesh: Mesh) -> str:
    return f"http://127.0.0.1:{mesh.http_port}"


def auth(key: str = MASTER) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Probe:
    """Resource use of one service process, the way a leak would show."""

    rss: int
    fds: int
    """Open file descriptors, without pooled keep-alive connections to Redis and the upstreams (a pool
    that grows to the peak concurrency and stays is not a leak; `redis_conns` shows its size)."""
    tasks: int
    redis_conns: int = 0


def metric(text: str, name: str) -> float:
    """Sum of a Prometheus metric's samples in an exposition text (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def metrics_url(mesh: Mesh, service: str) -> str:
    if service == "edge":
        return edge_url(mesh) + "/metrics"
    return f"http://127.0.0.1:{mesh.env[f'TOKENYARD_{service.upper()}_METRICS_PORT']}/metrics"


def probe(mesh: Mesh, service: str) -> Probe:
    pid = mesh.procs[service].pid
    text = httpx.get(metrics_url(mesh, service), headers=auth(), timeout=10).text
    proc = psutil.Process(pid)
    ports = {int(mesh.redis_url.rsplit(":", 1)[1].split("/")[0]), *getattr(mesh, "pooled_ports", ())}
    pooled = sum(1 for c in proc.net_connections("tcp") if c.raddr and c.raddr.port in ports)
    return Probe(rss=proc.memory_info().rss, fds=len(os.listdir(f"/proc/{pid}/fd")) - pooled,
                 tasks=int(metric(text, "tokenyard_asyncio_tasks")), redis_conns=pooled)


@dataclass
class StreamEnd:
    """How one client stream ended."""

    kind: str
    """`complete` ([DONE] after a finish_reason), `error_event` (an SSE error event), `http_error` (a
    status >= 400 before the stream), `silent` (ended without either: a contract breach), `timeout`."""
    status: int = 0
    seconds: float = 0.0
    text: str = ""


async def stream_chat(client: httpx.AsyncClient, model: str, deadline: float, **extra) -> StreamEnd:
    """One streaming chat request, classified by how it ended; never longer than `deadline` seconds."""
    t0 = time.monotonic()
    body = {"model": model, "messages": [{"role": "user", "content": "hello chaos"}], "stream": True, **extra}
    text, saw_error, saw_done = [], False, False
    try:
        async with asyncio.timeout(deadline):
            async with client.stream("POST", "/v1/chat/completions", json=body) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    return StreamEnd("http_error", resp.status_code, time.monotonic() - t0, resp.text[:300])
                async for line in resp.aiter_lines():
                    if line.startswith("event: error"):
                        saw_error = True
                    elif line == "data: [DONE]":
                        saw_done = True
                    elif line.startswith("data: "):
                        chunk = orjson.loads(line[6:])
                        if "error" in chunk:
                            saw_error = True
                        for c in chunk.get("choices") or ():
                            text.append((c.get("delta") or {}).get("content") or "")
    except TimeoutError:
        return StreamEnd("timeout", 0, time.monotonic() - t0, "".join(text))
    except httpx.TransportError as exc:
        return StreamEnd("silent", 0, time.monotonic() - t0, f"transport: {type(exc).__name__}")
    kind = "error_event" if saw_error else "complete" if saw_done else "silent"
    return StreamEnd(kind, 200, time.monotonic() - t0, "".join(text))
