"""Upstreams that misbehave: every case ends, for the client, in a complete answer or a deliberate
error (an HTTP error before the stream, an SSE error event after its first byte), within a deadline set
by the deployment's timeouts (connect 1 s, first token 2 s, idle 2 s, 2 attempts); and the router's
memory stays bounded while an upstream sends 100 MB.
"""
from __future__ import annotations

import asyncio

import httpx
import psutil

from tests.chaos.support import auth, edge_url, stream_chat

# case -> (what a streaming client must see, what a non-streaming client must get)
CASES = {
    "ok": ("complete", 200),
    "invalid-json": ("http_error", 502),
    "html-200": ("http_error", 502),
    "sse-garbage": ("complete", 200),
    "stall-first": ("http_error", 504),
    "stall-mid": ("error_event", 502),
    "reset-mid": ("error_event", 502),
    "json-ctype-sse": ("http_error", 502),
    "plain-ctype-sse": ("complete", 200),
}
HUGE = {"huge-line": ("http_error", 502), "huge-json": ("http_error", 502), "huge-sse": ("complete", 200)}
DEADLINE = 15.0


async def _both(mesh, case: str) -> tuple[str, int, float, float]:
    async with httpx.AsyncClient(base_url=edge_url(mesh), headers=auth(), timeout=DEADLINE) as client:
        streamed = await stream_chat(client, f"mb-{case}", DEADLINE)
        body = {"model": f"mb-{case}", "messages": [{"role": "user", "content": "hi"}]}
        t0 = asyncio.get_running_loop().time()
        resp = await client.post("/v1/chat/completions", json=body)
        plain_seconds = asyncio.get_running_loop().time() - t0
        if resp.status_code >= 400:
            err = resp.json()["error"]
            assert err["message"] and "Traceback" not in resp.text and "127.0.0.1" not in err["message"], err
        return streamed.kind, resp.status_code, streamed.seconds, plain_seconds


def _check(results, chaos_mesh, cases: dict, variant: str) -> None:
    seen = {}
    for case, (want_stream, want_status) in cases.items():
        kind, status, s1, s2 = asyncio.run(_both(chaos_mesh, case))
        seen[case] = (kind, status)
        assert (kind, status) == (want_stream, want_status), (case, kind, status)
        assert max(s1, s2) < DEADLINE
        results.record("upstreams", case, 2, f"stream: {kind}; non-stream: HTTP {status}", variant=variant,
                       figures={"seconds": round(max(s1, s2), 1)})


def test_each_misbehaving_upstream_ends_deliberately_within_its_deadline(chaos_mesh, results):
    _check(results, chaos_mesh, CASES, "fast")


def _peak_growth(pid: int, run) -> int:
    """Peak RSS above the starting RSS while `run()` runs (VmHWM, reset through clear_refs)."""
    rss0 = probe_rss(pid)
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")  # resets the peak to the current RSS
    run()
    with open(f"/proc/{pid}/status") as f:
        hwm_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    return hwm_kb * 1024 - rss0


def probe_rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


def test_100_mb_responses_keep_router_memory_bounded(chaos_mesh, results):
    """Each 100 MB answer (one endless SSE line, one JSON body, 100 MB of SSE comments before a valid
    stream) raises the router's peak memory by a bounded amount, not by the body's size."""
    asyncio.run(_both(chaos_mesh, "reset-mid"))  # warm-up: loads the tokenizer partial usage needs
    pid = chaos_mesh.procs["router"].pid
    for case, (want_stream, want_status) in HUGE.items():
        got = {}
        peak = _peak_growth(pid, lambda: got.update(r=asyncio.run(_both(chaos_mesh, case))))
        kind, status, s1, s2 = got["r"]
        assert (kind, status) == (want_stream, want_status), (case, kind, status)
        assert peak < 80 * 2**20, f"{case}: router peak RSS grew by {peak / 2**20:.0f} MB"
        results.record("upstreams", case, 2, f"stream: {kind}; non-stream: HTTP {status}",
                       figures={"router_peak_rss_growth_mb": round(peak / 2**20, 1), "seconds": round(s1 + s2, 1)})
