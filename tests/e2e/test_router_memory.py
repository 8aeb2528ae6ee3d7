"""One request cannot take the router's memory: a real router process, its resident memory sampled while it
assembles a non-streamed 100,000-word answer (issue 16, item 1).

Before the fix every appended token copied the answer so far into the message's arena: growth was
quadratic (609 MB for 12,000 tokens), so this request would need tens of GB. The sampler kills the
router once it passes KILL_AT_MB, so the old code fails the test quickly instead of hurting the machine.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading

import grpc
import pytest

from services.common.redis_server import free_port
from services.launcher.mesh import ROOT, wait_for_port
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

WORDS = 100_000
GROWTH_BOUND_MB = 64
"""The stated bound: the answer is ~0.9 MB of text; the router may hold a few copies and its pieces."""
KILL_AT_MB = 600


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class _Sampler(threading.Thread):
    """Samples a process's RSS until stopped; kills it past a ceiling so a leak fails fast."""

    def __init__(self, proc: subprocess.Popen, ceiling_mb: float) -> None:
        super().__init__(daemon=True)
        self.proc, self.ceiling, self.peak = proc, ceiling_mb, 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            try:
                self.peak = max(self.peak, _rss_mb(self.proc.pid))
            except (OSError, AssertionError):
                return
            if self.peak > self.ceiling:
                self.proc.kill()
                return


@pytest.fixture
def router_proc(tmp_path):
    key = "ty-test-" + secrets.token_hex(16)
    cfg = tmp_path / "tokenyard.yaml"
    cfg.write_text("deployments:\n  - {name: fake, provider: fake, models: [\"fake-*\"]}\n")
    port = free_port()
    env = {**os.environ, "TOKENYARD_MASTER_KEY": key, "TOKENYARD_CONFIG": str(cfg), "REDIS_URL": "",
           "TOKENYARD_ROUTER_PORT": str(port), "TOKENYARD_METER_ADDR": f"127.0.0.1:{free_port()}",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "services.router"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield proc, port, key
    finally:
        proc.kill()
        proc.wait(10)


def _complete(port: int, key: str, model: str, text: str = "hi") -> router_pb2.ChatResponse:
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 << 20)]) as ch:
        stub = router_pb2_grpc.RouterServiceStub(ch)
        return stub.Complete(router_pb2.ChatRequest(model=model, messages=[router_pb2.Message(role="user", content=text)]),
                             metadata=(("authorization", f"Bearer {key}"),), timeout=50)


@pytest.mark.timeout(90)
def test_a_non_streamed_100k_word_answer_keeps_router_memory_bounded(router_proc):
    proc, port, key = router_proc
    _complete(port, key, "fake-long-200")  # warm up: imports, channels, first-call allocations
    base = _rss_mb(proc.pid)
    sampler = _Sampler(proc, base + KILL_AT_MB)
    sampler.start()
    try:
        answer = _complete(port, key, f"fake-long-{WORDS}")
    except grpc.RpcError as err:
        raise AssertionError(f"router failed (peak RSS {sampler.peak:.0f} MB, base {base:.0f} MB): {err}") from None
    finally:
        sampler.done.set()
        sampler.join(5)
    growth = sampler.peak - base
    print(f"router RSS base {base:.0f} MB, peak {sampler.peak:.0f} MB, growth {growth:.0f} MB")
    assert answer.final.usage.completion_tokens == WORDS
    assert answer.deltas[0].content.split() == [f"tok{i}" for i in range(WORDS)]
    assert growth < GROWTH_BOUND_MB


def test_an_answer_past_the_cap_and_an_oversized_prompt_get_413s(tmp_path, router_proc):
    proc, port, key = router_proc
    # The default prompt cap is 8 MiB; the fake's echo refuses more than 256 KiB.
    with pytest.raises(grpc.RpcError) as big:
        _complete(port, key, "fake-echo", "word " * (2 * 1024 * 1024))
    md = dict(big.value.trailing_metadata() or ())
    assert md.get("ty-http-status") == "413" and md.get("ty-error-code") == "prompt_too_large"
    with pytest.raises(grpc.RpcError) as echo:
        _complete(port, key, "fake-echo", "word " * 60_000)
    assert dict(echo.value.trailing_metadata() or ()).get("ty-http-status") == "400"
    assert "at most" in echo.value.details()
    assert _rss_mb(proc.pid) < 1024
