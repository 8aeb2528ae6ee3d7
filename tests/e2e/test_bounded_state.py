"""State a client can name is bounded (issue 16, item 5): 1,000 random model names add no Prometheus series
at the edge or the router and no breaker entries, and `/metrics` on the public port needs the master key
(scrapers use the internal metrics port)."""
from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.common.redis_server import free_port
from services.launcher.mesh import Mesh
from tests.e2e.conftest import config_with_fake_family

MASTER_KEY = "ty-test-" + secrets.token_hex(16)
NAMES = 1000


@pytest.fixture(scope="module")
def mesh(tmp_path_factory, redis_server):
    root = tmp_path_factory.mktemp("bounded")
    ports = {name: free_port() for name in ("edge", "router")}
    m = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER_KEY, "REDIS_URL": redis_server.url,
                  # The worst case: a `fake-*` family serves every random name.
                  "TOKENYARD_CONFIG": config_with_fake_family(root / "tokenyard.yaml"),
                  **{f"TOKENYARD_{n.upper()}_METRICS_PORT": str(p) for n, p in ports.items()}},
             data_dir=root / "data", log_dir=root / "logs")
    m.start()
    m.metrics_ports = ports
    yield m
    m.stop()


def series(url: str) -> set[tuple]:
    text = httpx.get(url, timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))) for f in text_string_to_metric_families(text) for s in f.samples}


def _chat(base: str, model: str) -> int:
    return httpx.post(base + "/v1/chat/completions", headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30,
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}]}).status_code


@pytest.mark.timeout(180)
def test_a_thousand_random_model_names_add_no_series_and_no_breaker_entries(mesh):
    base = f"http://127.0.0.1:{mesh.http_port}"
    edge_url = f"http://127.0.0.1:{mesh.metrics_ports['edge']}/metrics"
    router_url = f"http://127.0.0.1:{mesh.metrics_ports['router']}/metrics"
    # One random name and one configured name first: the `other` series and the family's breaker exist from here.
    assert _chat(base, "fake-" + secrets.token_hex(6)) == 200 and _chat(base, "fake-echo") == 200
    edge0, router0 = series(edge_url), series(router_url)
    names = ["fake-" + secrets.token_hex(6) for _ in range(NAMES)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda m: _chat(base, m), names))
    assert statuses.count(200) == NAMES
    edge1, router1 = series(edge_url), series(router_url)
    new_edge = {s for s in edge1 - edge0 if not s[0].startswith(("tokenyard_asyncio", "tokenyard_open_fds"))}
    new_router = router1 - router0
    print(f"series: edge {len(edge0)} -> {len(edge1)}, router {len(router0)} -> {len(router1)}")
    assert new_edge == set() and new_router == set()
    assert not any(n in str(s) for s in edge1 | router1 for n in names[:50])
    breakers = {s for s in router1 if s[0] == "tokenyard_breaker_state"}
    assert len(breakers) <= 2  # fake/fake-* and fake/fake-echo


def test_public_metrics_need_the_master_key(mesh):
    base = f"http://127.0.0.1:{mesh.http_port}"
    assert httpx.get(base + "/metrics", timeout=5).status_code == 401
    key = httpx.post(base + "/api/v1/keys", headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=10,
                     json={"workspace": "acme", "name": "app"}).json()["key"]
    denied = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    ok = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=5)
    assert ok.status_code == 200 and "tokenyard_requests_total" in ok.text
    assert httpx.get(f"http://127.0.0.1:{mesh.metrics_ports['edge']}/metrics", timeout=5).status_code == 200
