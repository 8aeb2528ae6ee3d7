"""Shared fixtures: a real redis-server per test session, and a flushed database per test."""
from __future__ import annotations

import os

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
