"""Starts the mesh as separate processes: Redis (unless REDIS_URL is set), meter, router, runtime, edge.

Children get PR_SET_PDEATHSIG, so even a supervisor killed with -9 leaves no orphans; stopping sends
SIGTERM edge-first (so in-flight streams finish and the router flushes usage to the meter), then
SIGKILL after a grace period.
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.common.redis_server import LocalRedis, free_port

ROOT = Path(__file__).resolve().parents[2]
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[-1]} exited with {proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{proc.args[-1]} did not listen on port {port} within {timeout}s")


SERVICES = ("meter", "router", "runtime", "edge")
"""What `make run` starts, in start order (each waits for the one before it to listen)."""


@dataclass
class Mesh:
    """The whole mesh on loopback. Ports default to free ones; `env` adds or overrides variables."""

    env: dict[str, str] = field(default_factory=dict)
    data_dir: Path = ROOT / ".data"
    http_port: int = 0
    router_port: int = 0
    meter_port: int = 0
    runtime_port: int = 0
    """0: TOKENYARD_RUNTIME_PORT when set, else a free port."""
    log_dir: Path | None = None
    redis: LocalRedis | None = None
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    redis_url: str = ""

    def start(self) -> "Mesh":
        self.http_port = self.http_port or free_port()
        self.router_port = self.router_port or free_port()
        self.meter_port = self.meter_port or free_port()
        self.runtime_port = (self.runtime_port or int(self.env.get("TOKENYARD_RUNTIME_PORT")
                                                      or os.environ.get("TOKENYARD_RUNTIME_PORT") or 0) or free_port())
        self.redis_url = self.env.get("REDIS_URL") or os.environ.get("REDIS_URL", "")
        if not self.redis_url:
            self.redis = LocalRedis(self.data_dir / "redis").start()
            self.redis_url = self.redis.url
        for name in SERVICES:
            self.start_service(name)
        return self

    def service_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env.update({
            "REDIS_URL": self.redis_url,
            "TOKENYARD_HTTP_PORT": str(self.http_port),
            "TOKENYARD_ROUTER_PORT": str(self.router_port),
            "TOKENYARD_METER_PORT": str(self.meter_port),
            "TOKENYARD_ROUTER_ADDR": f"127.0.0.1:{self.router_port}",
            "TOKENYARD_METER_ADDR": f"127.0.0.1:{self.meter_port}",
            "TOKENYARD_RUNTIME_PORT": str(self.runtime_port),
            "TOKENYARD_RUNTIME_ADDR": f"127.0.0.1:{self.runtime_port}",
            "TOKENYARD_EDGE_URL": env.get("TOKENYARD_EDGE_URL") or f"http://127.0.0.1:{self.http_port}",
            "TOKENYARD_RUNTIME_STATE": env.get("TOKENYARD_RUNTIME_STATE") or str(self.data_dir / "runtime"),
            "DRIVE_STORAGE_PATH": env.get("DRIVE_STORAGE_PATH") or str(self.data_dir / "drive"),
            "TOKENYARD_REQUEST_LOG_PATH": env.get("TOKENYARD_REQUEST_LOG_PATH") or str(self.data_dir / "requests.db"),
            "TOKENYARD_USAGE_SPOOL": env.get("TOKENYARD_USAGE_SPOOL") or str(self.data_dir / "usage-spool"),
            "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        })
        return env

    def start_service(self, name: str) -> subprocess.Popen:
        port = {"edge": self.http_port, "router": self.router_port, "meter": self.meter_port,
                "runtime": self.runtime_port}[name]
        out = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=self.service_env(),
                                stdout=out, stderr=subprocess.STDOUT if out is not subprocess.DEVNULL else None,
                                preexec_fn=_die_with_parent)
        if out is not subprocess.DEVNULL:
            out.close()
        self.procs[name] = proc
        wait_for_port(port, proc)
        return proc

    def stop_service(self, name: str, grace: float = 25.0) -> int | None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def stop(self) -> None:
        for name in ("edge", "runtime", "router", "meter"):
            self.stop_service(name)
        if self.redis is not None:
            self.redis.stop()
