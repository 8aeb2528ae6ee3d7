"""Clients that misbehave: slow senders (headers, body) are cut off by the edge's timeouts; clients
that vanish mid-stream leave no task, socket or upstream call behind; a storm of connections that
open and close at once leaves the edge serving as before.

The chaos mesh runs the edge with 2 s header and body timeouts (TOKENYARD_HEADER_TIMEOUT,
TOKENYARD_BODY_TIMEOUT) so the slowloris cases finish fast.
"""
from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from tests.chaos.support import MASTER, auth, edge_url, probe


def _slow_sender(port: int, head: bytes, trickle: bytes, limit: float) -> tuple[float, bytes]:
    """Sends `head`, then one byte of `trickle` every 0.5 s; returns when the edge answers or closes the
    connection (seconds, what it answered) or after `limit` seconds."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as s:
        s.sendall(head)
        s.settimeout(0.5)
        answer = b""
        for i in range(int(limit / 0.5)):
            try:
                data = s.recv(65536)
                if not data:
                    return time.monotonic() - t0, answer
                return time.monotonic() - t0, data  # the edge answered (a 408): that ends the wait
            except socket.timeout:
                pass
            except ConnectionResetError:
                return time.monotonic() - t0, answer
            try:
                s.sendall(trickle[i % len(trickle):i % len(trickle) + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - t0, answer
    return time.monotonic() - t0, answer


def test_slowloris_headers_and_body_are_cut_off(chaos_mesh, results):
    port = chaos_mesh.http_port
    seconds, _ = _slow_sender(port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n", b"X-Slow: aaaaaaaa\r\n", 20)
    assert seconds < 10, f"slow headers held a connection for {seconds:.1f}s"
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {MASTER}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{").encode()
    body_seconds, answer = _slow_sender(port, head, b'"messages": [', 20)
    assert body_seconds < 10, f"a slow body held a request for {body_seconds:.1f}s"
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    results.record("clients", "slowloris: headers one byte per 0.5 s", 1,
                   f"connection closed after {seconds:.1f} s (header timeout 2 s)")
    results.record("clients", "slowloris: body one byte per 0.5 s", 1,
                   f"408 after {body_seconds:.1f} s (body timeout 2 s)")


async def _vanishing_stream(port: int, model: str) -> bool:
    """Starts a streaming chat over a raw socket, waits for its first SSE event, then drops the
    connection without a word (RST). True when the stream had started."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = ('{"model": "%s", "stream": true, "messages": [{"role": "user", "content": "hi"}]}' % model).encode()
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + MASTER.encode() + b"\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\n\r\n" + body)
    started = False
    try:
        async with asyncio.timeout(20):
            while line := await reader.readline():
                if line.startswith(b"data: "):
                    started = True
                    break
    finally:
        writer.transport.abort()
    return started


def _settled(mesh, misbehaving, baseline: dict, slack_tasks: int, slack_fds: int, limit: float = 20.0) -> dict:
    """Waits until the edge and router are back near their baselines and the upstream has no call left;
    returns the last figures either way (the test asserts on them)."""
    deadline = time.monotonic() + limit
    while True:
        now = {s: probe(mesh, s) for s in ("edge", "router")}
        active = misbehaving.call(lambda u: u.active)
        conns = misbehaving.call(lambda u: u.open_connections)
        ok = active == 0 and all(now[s].tasks <= baseline[s].tasks + slack_tasks
                                 and now[s].fds <= baseline[s].fds + slack_fds for s in now)
        if ok or time.monotonic() > deadline:
            return {"upstream_active": active, "upstream_open_connections": conns,
                    **{f"{s}_tasks": f"{baseline[s].tasks}->{now[s].tasks}" for s in now},
                    **{f"{s}_fds": f"{baseline[s].fds}->{now[s].fds}" for s in now},
                    "router_redis_pool": f"{baseline['router'].redis_conns}->{now['router'].redis_conns}",
                    "settled": ok}
        time.sleep(0.5)


def _disconnects(chaos_mesh, misbehaving, results, total: int, variant: str) -> None:
    baseline = {s: probe(chaos_mesh, s) for s in ("edge", "router")}
    calls0 = misbehaving.call(lambda u: u.calls)

    async def run() -> int:
        sem = asyncio.Semaphore(200)

        async def one() -> bool:
            async with sem:
                return await _vanishing_stream(chaos_mesh.http_port, "mb-slow-150")

        return sum(await asyncio.gather(*(one() for _ in range(total))))

    started = asyncio.run(run())
    figures = _settled(chaos_mesh, misbehaving, baseline, slack_tasks=5, slack_fds=3)
    calls = misbehaving.call(lambda u: u.calls) - calls0
    assert started == total
    assert figures["settled"], repr(figures)
    assert figures["upstream_open_connections"] <= 10, figures
    assert calls == total, f"{calls} upstream calls for {total} streams"
    results.record("clients", "abrupt disconnect mid-stream", total,
                   "all streams started; every upstream call closed, no task or fd left", variant=variant,
                   figures={k: v for k, v in figures.items() if k != "settled"})
    with httpx.Client(base_url=edge_url(chaos_mesh), headers=auth(), timeout=30) as c:
        assert c.post("/v1/chat/completions", json={"model": "mb-ok", "messages": [
            {"role": "user", "content": "still there?"}]}).status_code == 200


def test_abrupt_disconnects_leave_nothing_behind(chaos_mesh, misbehaving, results):
    _disconnects(chaos_mesh, misbehaving, results, 200, "fast")


@pytest.mark.chaos
@pytest.mark.timeout(300)
def test_abrupt_disconnects_during_1000_streams(chaos_mesh, misbehaving, results):
    _disconnects(chaos_mesh, misbehaving, results, 1000, "full")


def _storm(chaos_mesh, results, total: int, variant: str) -> None:
    """Connections that open and close at once, half of them after a partial request line."""
    baseline = probe(chaos_mesh, "edge")

    async def run() -> int:
        sem, failures = asyncio.Semaphore(100), 0

        async def one(i: int) -> None:
            nonlocal failures
            async with sem:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", chaos_mesh.http_port)
                except OSError:
                    failures += 1
                    return
                if i % 2:
                    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Le")
                writer.transport.abort()

        await asyncio.gather(*(one(i) for i in range(total)))
        return failures

    refused = asyncio.run(run())
    deadline = time.monotonic() + 20
    while (now := probe(chaos_mesh, "edge")).fds > baseline.fds + 10 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert refused == 0
    assert now.fds <= baseline.fds + 10 and now.tasks <= baseline.tasks + 5, (baseline, now)
    with httpx.Client(base_url=edge_url(chaos_mesh), headers=auth(), timeout=30) as c:
        assert c.post("/v1/chat/completions", json={"model": "fake-echo", "messages": [
            {"role": "user", "content": "after the storm"}]}).status_code == 200
    results.record("clients", "rapid connect/disconnect", total, "every connection accepted; edge serves after",
                   variant=variant, figures={"edge_fds": f"{baseline.fds}->{now.fds}",
                                             "edge_tasks": f"{baseline.tasks}->{now.tasks}"})


def test_rapid_connect_disconnect(chaos_mesh, results):
    _storm(chaos_mesh, results, 1000, "fast")


@pytest.mark.chaos
@pytest.mark.timeout(300)
def test_10000_rapid_connect_disconnects(chaos_mesh, results):
    _storm(chaos_mesh, results, 10_000, "full")
