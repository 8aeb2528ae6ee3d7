"""structlog JSON logging shared by every service, with a processor that keeps secrets out."""
from __future__ import annotations

import functools
import logging
import re
import sys

import orjson
import structlog

from services.common.tracing import current_ids

# Field names whose values are never logged, whatever the caller passes (compared lower-case, "-" as "_").
_SECRET_FIELDS = frozenset({"authorization", "proxy_authorization", "api_key", "apikey", "x_api_key", "password",
                            "secret", "client_secret", "token", "access_token", "refresh_token", "master_key",
                            "provider_key", "encryption_key", "cookie", "set_cookie", "x_goog_api_key",
                            "aws_secret_access_key", "aws_session_token", "private_key", "credentials"})
# Things that look like credentials inside free text: Bearer/Basic credentials; OpenAI and Anthropic
# (sk-, sk-ant-), Tokenyard (ty-), xAI (xai-), Perplexity (pplx-), Groq (gsk_), Google (AIza...), AWS access
# key ids (AKIA/ASIA...), GitHub (ghp_, github_pat_), Hugging Face (hf_), Replicate (r8_) and Slack (xox.-).
_SECRET_TEXT = re.compile(
    r"((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=\-]+"
    r"|\b(?:sk|ty|xai|pplx)-[A-Za-z0-9_\-]{8,}"
    r"|\b(?:gsk|ghp|gho|ghs|hf|r8)_[A-Za-z0-9_]{16,}|\bgithub_pat_[A-Za-z0-9_]{20,}"
    r"|\bAIza[0-9A-Za-z_\-]{30,}|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bxox[abprs]-[A-Za-z0-9\-]{10,}",
    re.IGNORECASE)
_MAX_DEPTH = 8


# Every credential shape above has a "-", "_", whitespace or an AIza/AKIA/ASIA prefix; most logged strings
# (ids, names, statuses) have none, and this check is far cheaper than the pattern (every request logs a line).
_MAY_HOLD_SECRET = re.compile(r"[\s_-]|AIza|AKIA|ASIA", re.IGNORECASE).search


def _scrub(text: str) -> str:
    if _MAY_HOLD_SECRET(text) is None:
        return text
    return _SECRET_TEXT.sub(lambda m: (m.group(1) or "") + "[REDACTED]", text)


def redact_text(text: str, *secrets: str) -> str:
    """`text` without the given secrets (a key an upstream echoed back, whatever its shape) and without
    anything credential-shaped; for upstream error texts before they reach a log or a client."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    return _scrub(text)


@functools.lru_cache(maxsize=4096)
def _is_secret_name(key: str) -> bool:
    return key.lower().replace("-", "_") in _SECRET_FIELDS


def _is_secret_field(key) -> bool:
    return isinstance(key, str) and _is_secret_name(key)


def _clean(value, depth: int = 0):
    """A copy of `value` with secret fields and credential-shaped strings redacted, however deeply nested."""
    if isinstance(value, str):
        return _scrub(value)
    if depth >= _MAX_DEPTH:
        return value if isinstance(value, (int, float, bool, type(None))) else "[TRUNCATED]"
    if isinstance(value, dict):
        return {k: "[REDACTED]" if _is_secret_field(k) else _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_clean(v, depth + 1) for v in value]
    if isinstance(value, bytes):
        return _scrub(value.decode("utf-8", "replace"))
    return value


def redact(_logger, _method, event: dict) -> dict:
    """Replaces secret fields and credential-shaped text with [REDACTED], in nested dicts and lists too."""
    for key, value in event.items():
        if _is_secret_field(key):
            event[key] = "[REDACTED]"
        elif type(value) is str:  # the common case, inlined: most values are short plain strings
            if _MAY_HOLD_SECRET(value) is not None:
                event[key] = _scrub(value)
        elif not isinstance(value, (int, float, bool, type(None))):
            event[key] = _clean(value)
    return event


def add_trace_ids(_logger, _method, event: dict) -> dict:
    """`trace_id` and `span_id` of the current span, so a log line leads to its trace (and back)."""
    if "trace_id" not in event:
        ids = current_ids()
        if ids is not None:
            event["trace_id"], event["span_id"] = ids
    return event


PROCESSORS = (
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    add_trace_ids,
    structlog.processors.format_exc_info,
    redact,
)
"""Every service's processors, in order, before the JSON renderer (tests reuse them with capture)."""


def configure(service: str, level: str = "INFO") -> None:
    """One JSON line per event on stdout, tagged with the service name."""
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level)
    # orjson renders a line in a fraction of the stdlib encoder's time (one line per request, on the hot
    # path); it emits bytes, so they go straight to stdout's binary buffer.
    structlog.configure(
        processors=[*PROCESSORS, structlog.processors.JSONRenderer(serializer=orjson.dumps)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.BytesLoggerFactory(sys.stdout.buffer),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
