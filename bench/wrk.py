"""Closed-loop throughput with wrk (C, one thread drives 64 connections at a tiny CPU cost) and a
Lua script for the POST; falls back to the Python generator when wrk is not installed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

_SCRIPT = """wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
{auth}
"""
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass
class WrkRun:
    requests: int
    errors: int
    elapsed: float
    generator_cpu: float
    p50: float
    p99: float

    @property
    def throughput(self) -> float:
        return (self.requests - self.errors) / self.elapsed if self.elapsed else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 1.0


def available() -> bool:
    return shutil.which("wrk") is not None


def _seconds(text: str, label: str) -> float:
    m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def parse(text: str, wall: float) -> tuple[int, int, float, float, float]:
    """(requests, errors, elapsed, p50, p99) from wrk's --latency output."""
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    requests, elapsed = (int(m.group(1)), float(m.group(2)) * _UNITS[m.group(3)]) if m else (0, wall)
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return requests, min(errors, requests), elapsed, _seconds(text, "50%"), _seconds(text, "99%")


def run(url: str, body: bytes, api_key: str, concurrency: int, duration: float) -> WrkRun:
    auth = f'wrk.headers["Authorization"] = "Bearer {api_key}"' if api_key else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_SCRIPT.format(body=body.decode(), auth=auth))
        script = f.name
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--latency", "-s", script, url],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {out.strip()[-300:]}")
    finally:
        os.unlink(script)
    requests, errors, elapsed, p50, p99 = parse(out, time.perf_counter() - t0)
    return WrkRun(requests, errors, elapsed, usage.ru_utime + usage.ru_stime, p50, p99)
