"""A Redis Cluster of its own for each failover test (they kill masters), and helpers to aim at one master."""
from __future__ import annotations

import asyncio
import time

import pytest

from services.common import redis_conn
from services.common.redis_cluster_server import LocalRedisCluster



@pytest.fixture
def own_cluster(tmp_path):
    cluster = LocalRedisCluster(tmp_path / "cluster", masters=3, replicas=1, node_timeout_ms=1000).start()
    yield cluster
    cluster.stop()


def on_master(cluster: LocalRedisCluster, port: int, make_key, tries: int = 400) -> str:
    """The first name `n0, n1, ...` whose key (`make_key(name)`) lives on the master at `port`."""
    for i in range(tries):
        if cluster.master_of(make_key(f"n{i}")) == port:
            return f"n{i}"
    raise AssertionError(f"no name maps to master {port}")


async def until_ok(call, timeout: float = 20.0, clock=time.monotonic):
    """Calls `call()` until Redis answers; returns (result, failed attempts, seconds). Only the errors of a
    Cluster between a master's death and its replica's promotion are retried; anything else fails the test."""
    start, failed = clock(), 0
    while True:
        try:
            return await call(), failed, clock() - start
        except redis_conn.UNAVAILABLE:
            failed += 1
            if clock() - start > timeout:
                raise
            await asyncio.sleep(0.05)
