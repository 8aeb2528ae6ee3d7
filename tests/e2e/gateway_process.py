"""A gateway (edge) process of its own on the shared mesh's router, meter and runtime, which a test may
kill with SIGKILL and start again on the same port: the "gateway down" the clients must survive,
without disturbing the edge every other test uses."""
from __future__ import annotations

import signal
import subprocess
import sys

from services.common.redis_server import free_port
from services.launcher.mesh import ROOT, Mesh, wait_for_port


class GatewayProcess:
    def __init__(self, mesh: Mesh, port: int = 0, env: dict[str, str] | None = None) -> None:
        """`env` overrides the mesh's, e.g. a router address nobody listens on: a gateway that is up but 5xx."""
        self._mesh = mesh
        self._env = env or {}
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "GatewayProcess":
        env = {**self._mesh.service_env(), "TOKENYARD_HTTP_PORT": str(self.port), **self._env}
        self.proc = subprocess.Popen([sys.executable, "-m", "services.edge"], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc)
        return self

    def kill(self) -> None:
        """Dies at once, as a crashed or OOM-killed gateway does: no drain, no goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill()
