"""Fuzz the live edge from its own OpenAPI document: no 5xx, no hang, every error in the OpenAI shape.

Schemathesis generates valid and invalid requests for every operation; the edge must answer each one
deliberately (a 2xx, or a 4xx that says what is wrong), never with a server error or a stack trace.
"""
from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.e2e.conftest import MASTER_KEY


def _operations():
    from services.edge import openapi

    return [op.ok() for op in schemathesis.openapi.from_dict(openapi.build()).get_all_operations()]


@pytest.mark.parametrize("operation", _operations(), ids=lambda op: op.label)
def test_no_server_errors(operation, base_url):
    """Each operation gets generated requests, valid and not (the document is the edge's own, built from
    the same models that validate requests)."""
    root = base_url.removesuffix("/v1")

    @given(case=operation.as_strategy())
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              phases=[Phase.explicit, Phase.generate])
    def run(case):
        response = case.call(base_url=root, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=15)
        assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
        if response.status_code >= 400:
            body = response.json()
            assert "error" in body and body["error"]["message"], body
        assert "Traceback" not in response.text

    run()


def test_hostile_bodies_get_4xx(base_url):
    headers = {"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"}
    nested = b"[" * 100_000 + b"]" * 100_000
    for path in ("/chat/completions", "/completions", "/embeddings", "/messages"):
        for body in (nested, b"\xff\xfe\x00garbage", b"null", b"{}" * 1000):
            resp = httpx.post(base_url + path, content=body, headers=headers, timeout=15)
            assert 400 <= resp.status_code < 500, (path, body[:20], resp.status_code, resp.text[:200])


def test_hostile_encodings_sizes_and_names_get_clear_4xx(base_url):
    """Issue 16, item 8: each of these reached a 500 before."""
    headers = {"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"}
    chat = b'{"model": "fake-echo", "messages": [{"role": "user", "content": "hi"}]}'
    cases = {
        "gzip header on a plain body": ("/chat/completions", chat, {"Content-Encoding": "gzip"}),
        "deflate header on a plain body": ("/chat/completions", chat, {"Content-Encoding": "deflate"}),
        "NUL in the model name (chat)": ("/chat/completions",
                                         b'{"model": "fake-\\u0000echo", "messages": [{"role": "user", "content": "x"}]}',
                                         {}),
        "NUL in the model name (embeddings)": ("/embeddings", b'{"model": "fake-\\u0000embed", "input": "x"}', {}),
        "5 MB embeddings input": ("/embeddings", b'{"model": "fake-embed", "input": "' + b"word " * 1_000_000 + b'"}',
                                  {}),
    }
    for name, (path, body, extra) in cases.items():
        resp = httpx.post(base_url + path, content=body, headers={**headers, **extra}, timeout=30)
        assert 400 <= resp.status_code < 500, (name, resp.status_code, resp.text[:300])
        err = resp.json()["error"]
        assert err["message"] and err["type"] == "invalid_request_error", (name, err)
