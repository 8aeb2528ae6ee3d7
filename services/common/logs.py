"""structlog JSON logging shared by every service, with a processor that keeps secrets out."""
from __future__ import annotations

import logging
import re
import sys

import structlog

# Field names whose values are never logged, whatever the caller passes.
_SECRET_FIELDS = frozenset({"authorization", "api_key", "apikey", "x-api-key", "password", "secret",
                            "token", "master_key", "provider_key", "encryption_key"})
# Things that look like credentials inside free text (Bearer tokens, sk-... keys).
_SECRET_TEXT = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]+|\b(sk|ty)-[A-Za-z0-9_\-]{8,}")


def _scrub(text: str) -> str:
    return _SECRET_TEXT.sub(lambda m: (m.group(1) or "") + "[REDACTED]", text)


def redact(_logger, _method, event: dict) -> dict:
    """Replaces secret fields and credential-shaped text with [REDACTED]."""
    for key, value in event.items():
        if key.lower() in _SECRET_FIELDS:
            event[key] = "[REDACTED]"
        elif isinstance(value, str):
            event[key] = _scrub(value)
    return event


def configure(service: str, level: str = "INFO") -> None:
    """One JSON line per event on stdout, tagged with the service name."""
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
