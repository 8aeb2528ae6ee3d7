"""The log pipeline every service uses: secrets never reach a log line, trace ids always do."""
from __future__ import annotations

import json

import structlog
from opentelemetry.sdk.trace import TracerProvider
from structlog.testing import capture_logs

from services.common import logs

MASTER = "ty-master-" + "k" * 24
UPSTREAM = "sk-proj-" + "u" * 30
ANTHROPIC = "sk-ant-api03-" + "a" * 30


def _log(event: str, **fields) -> dict:
    with capture_logs(processors=list(logs.PROCESSORS)) as captured:
        structlog.get_logger().info(event, **fields)
    assert len(captured) == 1
    return captured[0]


def test_secret_fields_are_redacted_whatever_their_case():
    line = _log("x", Authorization=f"Bearer {MASTER}", api_key=UPSTREAM, **{"x-api-key": ANTHROPIC},
                password="hunter2", master_key=MASTER)
    for field in ("Authorization", "api_key", "x-api-key", "password", "master_key"):
        assert line[field] == "[REDACTED]"


def test_credentials_inside_free_text_are_redacted():
    line = _log("upstream_said", error=f"401 for Bearer {MASTER}; also tried {UPSTREAM} and {ANTHROPIC}")
    assert MASTER not in line["error"] and UPSTREAM not in line["error"] and ANTHROPIC not in line["error"]
    assert line["error"].startswith("401 for Bearer [REDACTED]")


OTHER_VENDORS = {
    "groq": "gsk_" + "g" * 52, "google": "AIzaSy" + "G" * 33, "xai": "xai-" + "x" * 80,
    "aws access key id": "AKIA" + "IOSFODNN7EXAMPLE", "aws session key id": "ASIA" + "Q" * 16,
    "github": "ghp_" + "h" * 36, "hugging face": "hf_" + "f" * 34, "replicate": "r8_" + "r" * 37,
    "perplexity": "pplx-" + "p" * 48, "basic auth": "dXNlcjpwYXNzd29yZA==",
}


def test_other_vendors_key_shapes_are_redacted_in_free_text():
    for vendor, key in OTHER_VENDORS.items():
        text = f"Basic {key}" if vendor == "basic auth" else f"upstream said: invalid key {key} (401)"
        line = _log("upstream_said", error=text)
        assert key not in line["error"] and "[REDACTED]" in line["error"], vendor


def test_aws_secret_fields_are_redacted():
    line = _log("x", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", **{"x-goog-api-key": "k"})
    assert line["aws_secret_access_key"] == "[REDACTED]" and line["x-goog-api-key"] == "[REDACTED]"


def test_byok_keys_in_nested_dicts_and_lists_are_redacted():
    line = _log("agent_saved", agent={"id": "a1", "llm": {"provider": "openai", "api_key": UPSTREAM,
                                                           "fallbacks": [{"provider_key": ANTHROPIC},
                                                                         {"note": f"key {UPSTREAM}"}]}},
                headers=[("authorization", f"Bearer {MASTER}")])
    text = json.dumps(line)
    assert UPSTREAM not in text and ANTHROPIC not in text and MASTER not in text
    assert line["agent"]["id"] == "a1" and line["agent"]["llm"]["provider"] == "openai"
    assert line["agent"]["llm"]["api_key"] == "[REDACTED]"


def test_key_ids_and_ordinary_fields_are_kept():
    line = _log("request", key_id="key_01abc", model="fake-echo", prompt_tokens=7, cost_micros=12, status="ok",
                task_id="task-123456789")
    assert line["key_id"] == "key_01abc" and line["model"] == "fake-echo" and line["prompt_tokens"] == 7
    assert line["task_id"] == "task-123456789"


def test_exception_text_is_redacted():
    try:
        raise RuntimeError(f"upstream refused {UPSTREAM}")
    except RuntimeError:
        with capture_logs(processors=list(logs.PROCESSORS)) as captured:
            structlog.get_logger().exception("boom")
    assert UPSTREAM not in json.dumps(captured[0]) and "upstream refused [REDACTED]" in captured[0]["exception"]


def test_lines_inside_a_span_carry_its_trace_and_span_ids():
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        line = _log("request", key_id="k")
    ctx = span.get_span_context()
    assert line["trace_id"] == format(ctx.trace_id, "032x") and line["span_id"] == format(ctx.span_id, "016x")
    assert "trace_id" not in _log("outside")
