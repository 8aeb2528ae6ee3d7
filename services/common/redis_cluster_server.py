"""Starts a real local Redis Cluster (masters, each with replicas) from the same redis-server binary.

For the cluster test suite (`make test-cluster`) and the multi-replica bench: every node is a child
process on a free port with its own data dir; slots are split evenly over the masters with
CLUSTER ADDSLOTS, the nodes meet, replicas attach with CLUSTER REPLICATE, and `start()` returns once
every node reports `cluster_state:ok` and agrees on the slot map. A short `cluster-node-timeout`
lets a killed master's replica take over by itself within a couple of seconds; `failover()` promotes
a replica at once (CLUSTER FAILOVER TAKEOVER) for tests that must not wait.
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.common.redis_server import LocalRedis, free_port

SLOTS = 16384
BUS_OFFSET = 10000
"""Redis 6 puts a node's cluster bus on its port + 10000 (no `cluster-port` option before 7.0)."""


def free_cluster_port(attempts: int = 200) -> int:
    """A free port whose bus port (port + 10000) is free too."""
    for _ in range(attempts):
        port = free_port()
        if port + BUS_OFFSET > 65535:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + BUS_OFFSET))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair (port, port + 10000) for a cluster node")


def command(port: int, *args: str, timeout: float = 2.0) -> bytes:
    """One RESP command over a plain socket (no client library needed before the cluster exists)."""
    payload = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
            if _complete(data):
                return data


def _complete(data: bytes) -> bool:
    if data[:1] in (b"+", b"-", b":"):
        return data.endswith(b"\r\n")
    if data[:1] == b"$":
        head, _, rest = data.partition(b"\r\n")
        n = int(head[1:])
        return n < 0 or len(rest) >= n + 2
    return data.endswith(b"\r\n")


def _bulk(reply: bytes) -> str:
    return reply.partition(b"\r\n")[2].decode(errors="replace")


@dataclass
class LocalRedisCluster:
    """`masters` masters with `replicas` replicas each; `url` names every node (redis+cluster://)."""

    data_dir: Path
    masters: int = 3
    replicas: int = 1
    node_timeout_ms: int = 1000
    nodes: list[LocalRedis] = field(default_factory=list)
    ids: dict[int, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self, timeout: float = 30.0) -> "LocalRedisCluster":
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> "LocalRedisCluster":
        extra = ["--cluster-enabled", "yes", "--cluster-node-timeout", str(self.node_timeout_ms),
                 "--cluster-require-full-coverage", "yes", "--cluster-replica-validity-factor", "0"]
        for i in range(self.masters * (1 + self.replicas)):
            node = LocalRedis(self.data_dir / f"node{i}", port=free_cluster_port(), extra_args=extra)
            node.extra_args.extend(["--cluster-config-file", str(node.data_dir / "nodes.conf")])
            self.nodes.append(node.start())
        for node in self.nodes:
            self.ids[node.port] = _bulk(command(node.port, "CLUSTER", "MYID")).strip()
        per = SLOTS // self.masters
        for i, master in enumerate(self.nodes[:self.masters]):
            end = SLOTS if i == self.masters - 1 else (i + 1) * per
            command(master.port, "CLUSTER", "ADDSLOTS", *[str(s) for s in range(i * per, end)], timeout=10)
        first = self.nodes[0].port
        for node in self.nodes[1:]:
            command(node.port, "CLUSTER", "MEET", "127.0.0.1", str(first))
        self._wait(lambda: all(self._known(n.port) == len(self.nodes) for n in self.nodes), timeout, "meet")
        for j, replica in enumerate(self.nodes[self.masters:]):
            master = self.nodes[j % self.masters]
            self._wait(lambda: _ok(command(replica.port, "CLUSTER", "REPLICATE", self.ids[master.port])),
                       timeout, "replicate")
        for replica in self.nodes[self.masters:]:  # a replica that never synced could not take over
            self._wait(lambda: b"master_link_status:up" in command(replica.port, "INFO", "replication"),
                       timeout, "replica sync")
        self.wait_healthy(timeout)
        return self

    def _known(self, port: int) -> int:
        return len(self._nodes(port))

    @staticmethod
    def _nodes(port: int) -> list[list[str]]:
        """CLUSTER NODES as seen from `port`, one list of fields per node."""
        return [line.split() for line in _bulk(command(port, "CLUSTER", "NODES")).splitlines() if line.strip()]

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Every live node says cluster_state:ok."""
        live = self._live()

        def healthy() -> bool:
            return all(b"cluster_state:ok" in command(n.port, "CLUSTER", "INFO") for n in live)

        self._wait(healthy, timeout, "cluster_state:ok")

    def master_ports(self) -> list[int]:
        return [n.port for n in self._live() if self.role(n.port) == "master"]

    def role(self, port: int) -> str:
        """`master` or `slave`, as the node itself says (ROLE's first element)."""
        return command(port, "ROLE").split(b"\r\n")[2].decode()

    def master_of(self, key: str) -> int:
        slot = int(command(self.nodes[0].port, "CLUSTER", "KEYSLOT", key)[1:].strip())
        for node in self._live():
            if self.role(node.port) == "master":
                for parts in self._nodes(node.port):
                    if "myself" in parts[2] and any(_in(r, slot) for r in parts[8:]):
                        return node.port
        raise RuntimeError(f"no live master serves slot {slot}")

    def replicas_of(self, master_port: int) -> list[int]:
        return [n.port for n in self._live() if self._replicates(n.port) == self.ids[master_port]]

    def _replicates(self, port: int) -> str:
        for parts in self._nodes(port):
            if "myself" in parts[2]:
                return parts[3]
        return "-"

    def _live(self) -> list[LocalRedis]:
        return [n for n in self.nodes if n.process and n.process.poll() is None]

    def kill(self, port: int) -> None:
        """SIGKILL: the node vanishes as a crashed machine would, nothing flushed on the way out."""
        node = next(n for n in self.nodes if n.port == port)
        assert node.process is not None
        node.process.kill()
        node.process.wait()

    def failover(self, replica_port: int, timeout: float = 30.0) -> None:
        """Promotes a replica now (its master is dead, so TAKEOVER: no agreement from it needed)."""
        assert _ok(command(replica_port, "CLUSTER", "FAILOVER", "TAKEOVER"))
        self._wait(lambda: self.role(replica_port) == "master", timeout, "promotion")
        self.wait_healthy(timeout)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    @staticmethod
    def _wait(check, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis cluster: {what} not reached within {timeout}s")


def _ok(reply: bytes) -> bool:
    return reply.startswith(b"+OK")


def _in(spec: str, slot: int) -> bool:
    if spec.startswith("["):
        return False  # a slot being migrated, not served
    lo, _, hi = spec.partition("-")
    return int(lo) <= slot <= int(hi or lo)
