"""The router's error table: verdicts on the request versus deployment faults, per vendor, and the
cleaned message a client sees (issue 17, item 1)."""
from __future__ import annotations

import pytest

from services.router.error_text import clean
from services.router.errors import (AUTH, CONTEXT_LENGTH, FATAL, RATE_LIMITED, RETRY, classify,
                                    counts_against_breaker, to_gateway_error)
from services.router.providers.base import UpstreamError


@pytest.mark.parametrize("status,message,code,vendor,expected", [
    (500, "Failed to parse grammar: unexpected token", "server_error", "llamacpp", FATAL),
    (500, "Failed to parse grammar: unexpected token", "server_error", "openai", RETRY),  # OpenAI never means it
    (500, "Requested tokens (5000) exceed context window of 2048", "", "llama.cpp", CONTEXT_LENGTH),
    (500, "the request exceeds the available context size", "", "vllm", CONTEXT_LENGTH),
    (500, "xgrammar: failed to compile the guided decoding schema", "", "vllm", FATAL),
    (500, "CUDA out of memory", "InternalServerError", "vllm", RETRY),
    (500, "anything", "BadRequestError", "vllm", FATAL),
    (400, "x", "exceed_context_size_error", "llamacpp", CONTEXT_LENGTH),
    (413, "request entity too large", "", "", FATAL),
    (429, "slow down", "", "", RATE_LIMITED),
    (401, "bad key", "", "", AUTH),
    (0, "cannot reach the upstream", "", "", RETRY),
    (502, "bad gateway", "", "", RETRY),
])
def test_classification_per_vendor(status, message, code, vendor, expected):
    assert classify(UpstreamError(status, message, code=code), vendor) == expected


def test_only_faults_count_against_the_breaker():
    assert counts_against_breaker(RETRY, byok=False) and counts_against_breaker(AUTH, byok=False)
    assert not counts_against_breaker(AUTH, byok=True)  # a customer's own key is theirs to fix
    assert not any(counts_against_breaker(c, byok=False) for c in (FATAL, CONTEXT_LENGTH, RATE_LIMITED))


def test_a_verdict_keeps_the_upstream_status_class_and_a_cleaned_message():
    err = to_gateway_error(UpstreamError(422, "Incorrect API key provided: sk-abcdef1234567890 at "
                                              "https://10.1.2.3:8000/v1/chat (see /srv/app/server.py)"))
    assert err.http_status == 422
    for leaked in ("sk-abcdef", "https://", "10.1.2.3", "/srv/app"):
        assert leaked not in err.message
    assert "Incorrect API key provided" in err.message
    assert to_gateway_error(UpstreamError(500, "Failed to parse grammar"), "llamacpp").http_status == 400


def test_a_fault_tells_the_client_what_failed_not_only_to_retry():
    err = to_gateway_error(UpstreamError(503, "injected 503"))
    assert err.http_status == 502 and "HTTP 503" in err.message and "injected 503" in err.message


def test_clean_bounds_the_message_and_drops_tracebacks():
    text = clean("boom\nTraceback (most recent call last):\n  File x\nValueError: y" + "z" * 0)
    assert text == "boom"
    assert len(clean("word " * 500)) <= 400
