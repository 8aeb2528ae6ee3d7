"""Shared fixtures: a real Redis per test session (one redis-server, or a Redis Cluster with `--redis=cluster`,
as `make test-cluster` runs it), and a flushed database per test."""
from __future__ import annotations

import pytest

from services.common import redis_conn
from services.common.redis_cluster_server import LocalRedisCluster
from services.common.redis_server import LocalRedis


def pytest_addoption(parser):
    parser.addoption("--redis", choices=("single", "cluster"), default="single",
                     help="run the Redis-touching tests against one redis-server or a 3-master cluster with replicas")


@pytest.fixture(scope="session")
def redis_mode(request) -> str:
    return request.config.getoption("--redis")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory, redis_mode):
    if redis_mode == "cluster":
        server = LocalRedisCluster(tmp_path_factory.mktemp("redis-cluster")).start()
    else:
        server = LocalRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
async def redis_client(redis_server):
    client = redis_conn.connect(redis_server.url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory, redis_mode, request):
    """A real Redis Cluster in either mode: the suite's own under --redis=cluster, else a small one of its own."""
    if redis_mode == "cluster":
        yield request.getfixturevalue("redis_server")
        return
    cluster = LocalRedisCluster(tmp_path_factory.mktemp("redis-cluster-own"), masters=3, replicas=0).start()
    yield cluster
    cluster.stop()


def misdirected_url(cluster: LocalRedisCluster, key: str) -> str:
    """A plain redis:// URL of a cluster master that does not own `key`: what a REDIS_URL without the
    cluster switch amounts to (that node answers MOVED for the key)."""
    owner = cluster.master_of(key)
    return f"redis://127.0.0.1:{next(p for p in cluster.master_ports() if p != owner)}/0"
