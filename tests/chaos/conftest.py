"""Chaos fixtures: one mesh per module (faults here break things on purpose), a misbehaving upstream,
and the results recorder behind docs/RELIABILITY.md."""
from __future__ import annotations

import httpx
import pytest

from tests.chaos.render import render
from tests.chaos.results import Results
from tests.chaos.support import auth, build_mesh, edge_url
from tests.fakes.misbehaving_upstream import ThreadedMisbehaving


@pytest.fixture(scope="session")
def results():
    r = Results()
    yield r
    r.write()
    if r.rows and r.path.exists():
        render(r.path)


@pytest.fixture(scope="module")
def misbehaving():
    runner = ThreadedMisbehaving()
    runner.start()
    yield runner
    runner.stop()


@pytest.fixture(scope="module")
def chaos_mesh(tmp_path_factory, misbehaving):
    mesh, redis = build_mesh(tmp_path_factory.mktemp("chaos"), misbehaving.upstream.base_url)
    mesh.redis_server = redis
    mesh.pooled_ports = (misbehaving.upstream.port,)
    yield mesh
    mesh.stop()
    redis.stop()


@pytest.fixture
def edge(chaos_mesh):
    with httpx.Client(base_url=edge_url(chaos_mesh), headers=auth(), timeout=30) as c:
        yield c
