"""A real OpenAI-compatible model server for the `real` suite (`make test-real`): llama-cpp-python's
server with Gemma 3 270M (Q4_K_M GGUF from PyPI), started on a free port, and the whole mesh in
front of it.

The server runs from its own venv (`TOKENYARD_LLAMA_PYTHON`, made by `make test-real`, which caches
the compiled wheel), so the project's pinned dependencies never meet llama.cpp's server stack.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from services.common.redis_server import free_port
from services.launcher.mesh import Mesh

MASTER_KEY = "ty-real-" + secrets.token_hex(16)
N_CTX = 512
"""The server's context window: small, so a too-long prompt is cheap to build."""


class LlamaServer:
    def __init__(self, python: str, model: Path, log: Path) -> None:
        self.port = free_port()
        self.log = log
        # --chat_format gemma: the GGUF carries no chat template, and llama-cpp-python's fallback
        # (llama-2) makes Gemma answer nothing at all.
        cmd = [python, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "gemma",
               "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(N_CTX), "--chat_format", "gemma",
               "--n_threads", "2", "--seed", "7"]
        self.proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def wait(self, timeout: float = 120.0) -> "LlamaServer":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.base_url + "/models", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("llama server did not start")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise pytest.UsageError(f"{name} is unset: run the real-server suite with `make test-real`")
    return value


@pytest.fixture(scope="session")
def llama(tmp_path_factory):
    server = LlamaServer(_required("TOKENYARD_LLAMA_PYTHON"), Path(_required("TOKENYARD_GGUF")),
                         tmp_path_factory.mktemp("llama") / "server.log").wait()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dead_url() -> str:
    """A deployment nobody listens on (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/v1"


@pytest.fixture(scope="session")
def mesh(tmp_path_factory, llama, dead_url, redis_server):
    cfg = tmp_path_factory.mktemp("cfg") / "tokenyard.yaml"
    cfg.write_text(f"""
deployments:
  - name: llama
    provider: openai
    vendor: llamacpp
    base_url: {llama.base_url}
    timeouts: {{connect: 2, first_token: 60, total: 120}}
    models: [{{name: gemma, upstream: gemma}}]
  - name: dead
    provider: openai
    vendor: llamacpp
    base_url: {dead_url}
    timeouts: {{connect: 1, first_token: 5, total: 10}}
    models: [{{name: gemma-ha, upstream: gemma}}]
  - name: llama-ha
    provider: openai
    vendor: llamacpp
    base_url: {llama.base_url}
    timeouts: {{connect: 2, first_token: 60, total: 120}}
    models: [{{name: gemma-ha, upstream: gemma}}]
routing:
  breaker: {{consecutive: 2, cooldown: 60}}
  groups:
    gemma-ha: {{strategy: priority}}
""")
    m = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER_KEY, "TOKENYARD_CONFIG": str(cfg), "REDIS_URL": redis_server.url},
             log_dir=tmp_path_factory.mktemp("logs"))
    m.start()
    yield m
    m.stop()


@pytest.fixture(scope="session")
def base_url(mesh) -> str:
    return f"http://127.0.0.1:{mesh.http_port}/v1"


@pytest.fixture
def client(base_url):
    from openai import OpenAI

    with OpenAI(base_url=base_url, api_key=MASTER_KEY, max_retries=0, timeout=120) as c:
        yield c
