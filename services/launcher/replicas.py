"""Several replicas of each service on one shared Redis (usually a Cluster): what scaling out looks like.

Two full meshes (meter, router, runtime, edge each) share `redis_url`, and one more edge joins the first:
3 edges, 2 routers, 2 meters. Edge 0 and 2 call router 0 and meter 0, edge 1 calls router 1 and meter 1,
and each router reports usage to its own meter, so every piece of shared state (keys, rate limits,
budgets, breakers, usage) is only shared through Redis. For the multi-replica tests and bench scenario.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from services.common.redis_server import free_port
from services.launcher.mesh import ROOT, Mesh, _die_with_parent, wait_for_port


@dataclass
class ReplicaMesh:
    redis_url: str
    work_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    meshes: list[Mesh] = field(default_factory=list)
    extra_edges: list[tuple[int, subprocess.Popen]] = field(default_factory=list)

    def start(self) -> "ReplicaMesh":
        try:
            for i in range(2):
                env = {**self.env, "REDIS_URL": self.redis_url,
                       "TOKENYARD_USAGE_SPOOL": str(self.work_dir / f"spool{i}")}
                self.meshes.append(Mesh(env=env, data_dir=self.work_dir / f"data{i}",
                                        log_dir=self.work_dir / f"logs{i}").start())
            self._start_edge(self.meshes[0])
        except BaseException:
            self.stop()
            raise
        return self

    def _start_edge(self, mesh: Mesh) -> None:
        port = free_port()
        env = {**mesh.service_env(), "TOKENYARD_HTTP_PORT": str(port)}
        assert mesh.log_dir is not None
        with open(mesh.log_dir / f"edge-{port}.log", "ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "services.edge"], cwd=ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        self.extra_edges.append((port, proc))
        wait_for_port(port, proc)

    @property
    def edges(self) -> list[str]:
        """Base URLs (no /v1) of every edge: the two meshes' own, then the extra ones."""
        return [f"http://127.0.0.1:{m.http_port}" for m in self.meshes] + \
               [f"http://127.0.0.1:{port}" for port, _ in self.extra_edges]

    def stop(self) -> None:
        for _, proc in self.extra_edges:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for mesh in self.meshes:
            mesh.stop()
