"""Shared fixtures: a real Redis per test session (one redis-server, or a Redis Cluster with `--redis=cluster`,
as `make test-cluster` runs it), and a flushed database per test."""
from __future__ import annotations

import os

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


@pytest.fixture(scope="session", autouse=True)
def session_usage_journal(tmp_path_factory):
    """Meshes started by module fixtures journal usage under the session's tmp dir, never in the checkout's
    `.data/usage-spool` (which `make run` would replay)."""
    before = os.environ.get("TOKENYARD_USAGE_SPOOL")
    os.environ["TOKENYARD_USAGE_SPOOL"] = str(tmp_path_factory.mktemp("usage-journal"))
    yield
    if before is None:
        os.environ.pop("TOKENYARD_USAGE_SPOOL", None)
    else:
        os.environ["TOKENYARD_USAGE_SPOOL"] = before


@pytest.fixture(autouse=True)
def own_usage_journal(tmp_path, monkeypatch):
    """Each test's in-process routers journal usage in a directory of their own: a router recovers (and
    re-sends) whatever it finds in its journal, so a shared one would mix one test's records into another's."""
    monkeypatch.setenv("TOKENYARD_USAGE_SPOOL", str(tmp_path / "usage-journal"))


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL (Debian's package, installed when missing) on a free port, data in a temp dir."""
    from tests.postgres_server import LocalPostgres

    server = LocalPostgres().start()
    yield server
    server.stop()


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
