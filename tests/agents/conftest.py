"""Real agent clients, unchanged, against the mesh with the shipped config and fake models (issue 15,
part 6; `make test-agents` installs the clients into .agents/ first).

Each client runs under strace (connect and the send calls that name an address), so every socket
address it uses is seen: a test fails if
any goes anywhere but loopback (telemetry, update checks, plugin syncing, DNS lookups included).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.launcher.mesh import ROOT, Mesh

AGENTS_DIR = ROOT / ".agents"
SHIPPED_CONFIG = ROOT / "config" / "tokenyard.yaml"
MASTER_KEY = "ty-agents-" + secrets.token_hex(16)
# Provider keys in the developer's environment would switch real deployments on.
_SCRUB = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MINIMAX_API_KEY", "OLLAMA_BASE_URL", "ANTHROPIC_BASE_URL",
          "OPENAI_BASE_URL", "CODEX_HOME")
# A socket address in a connect(), sendto(), sendmsg() or sendmmsg() line (unconnected UDP, such as a
# DNS query, names its destination per message rather than in a connect()).
_ADDRESS = re.compile(r'sa_family=AF_INET6?, sin6?_port=htons\((\d+)\).*?inet_(?:addr|pton)\((?:AF_INET6?, )?"([^"]+)"')
_LOOPBACK = re.compile(r"^(127\.|::1$|::ffff:127\.)")


@pytest.fixture(scope="session")
def agents_mesh(tmp_path_factory, redis_server):
    env = {k: "" for k in _SCRUB}
    env.update({"TOKENYARD_MASTER_KEY": MASTER_KEY, "TOKENYARD_CONFIG": str(SHIPPED_CONFIG),
                "REDIS_URL": redis_server.url})
    m = Mesh(env=env, log_dir=tmp_path_factory.mktemp("agent-logs"), data_dir=tmp_path_factory.mktemp("data"))
    m.start()
    yield m
    m.stop()


@dataclass
class Run:
    proc: subprocess.CompletedProcess
    remote: list[str]
    """Every non-loopback address the client tried to connect to."""


def client_bin(name: str) -> Path:
    path = AGENTS_DIR / "node_modules" / ".bin" / name
    assert path.exists(), f"{name} is not installed: run `make test-agents` (it installs the clients into .agents/)"
    return path


def run_traced(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> Run:
    """Runs `cmd` with exactly `env` (plus PATH) under strace, and lists the non-loopback connects."""
    trace = cwd / f".connects-{secrets.token_hex(4)}"
    full = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-e", "signal=none",
            "-o", str(trace), *cmd]
    proc = subprocess.run(full, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    remote = []
    for line in trace.read_text().splitlines():
        for port, addr in _ADDRESS.findall(line):
            if not _LOOPBACK.match(addr) and f"{addr}:{port}" not in remote:
                remote.append(f"{addr}:{port}")
    trace.unlink()
    return Run(proc, remote)


def access_lines(mesh: Mesh, since: int = 0) -> list[dict]:
    """The edge's access-log lines, from line `since` of its log on."""
    out = []
    for line in (mesh.log_dir / "edge.log").read_text().splitlines()[since:]:
        if line.startswith("{"):
            rec = json.loads(line)
            if rec.get("event") == "access":
                out.append(rec)
    return out


def log_mark(mesh: Mesh) -> int:
    return len((mesh.log_dir / "edge.log").read_text().splitlines())
