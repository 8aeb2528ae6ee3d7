"""Shared fixtures: a real redis-server per test session, and a flushed database per test."""
from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from services.common.redis_server import LocalRedis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = LocalRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
async def redis_client(redis_server):
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL (Debian's package, installed when missing) on a free port, data in a temp dir."""
    from tests.postgres_server import LocalPostgres

    server = LocalPostgres().start()
    yield server
    server.stop()
