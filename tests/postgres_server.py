"""A real PostgreSQL server for the tests: Debian's `postgresql` package (installed when missing), started
on a free port with its data in a temporary directory (initdb + pg_ctl), stopped afterwards.

PostgreSQL refuses to run as root, so as root the server runs as the package's `postgres` user.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from services.common.redis_server import free_port


def pg_bin() -> Path:
    """The newest installed server's bin directory, installing `postgresql` with apt when there is none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=True, env=env,
                       stdout=subprocess.DEVNULL, timeout=600)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("no PostgreSQL server found (apt-get install postgresql)")
    return Path(found[-1]).parent


@dataclass
class LocalPostgres:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ty-pg-")))
    port: int = 0

    @property
    def url(self) -> str:
        return f"postgresql://tokenyard@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)

    def start(self) -> "LocalPostgres":
        binary = pg_bin()
        self.port = self.port or free_port()
        data = self.root / "data"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(binary / "initdb"), "-D", str(data), "-A", "trust", "-U", "tokenyard", "--no-sync")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run(str(binary / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.root / "pg.log"), "-w", "start")
        return self

    def stop(self) -> None:
        try:
            self._run(str(pg_bin() / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
