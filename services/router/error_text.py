"""Cleans an upstream's error message before a client sees it.

Why: an upstream's message is often the most useful thing a client can get ("the request exceeds the
available context size (4096 tokens)"), but upstreams also echo URLs (their own, internal ones),
addresses, keys ("Incorrect API key provided: sk-...") and stack traces. The client gets the sentence,
never those; the full text goes to the router's log under the request id.
"""
from __future__ import annotations

import re

_MAX_CHARS = 400
_URL = re.compile(r"\b(?:https?|wss?|grpc|redis)://\S+", re.IGNORECASE)
_KEY = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=\-]+|\b(?:sk|ty|gsk|xai|key)-[A-Za-z0-9_\-*]{6,}"
                  r"|\b[A-Za-z0-9_\-]{32,}\b", re.IGNORECASE)
_ADDRESS = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b|\blocalhost:\d+\b|\[[0-9a-f:]+\](?::\d+)?",
                      re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.])/(?:[\w.\-]+/)+[\w.\-]+")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\).*", re.DOTALL)


def clean(message: str) -> str:
    """The message without URLs, addresses, file paths, credentials or tracebacks, on one bounded line."""
    text = _TRACEBACK.sub("", message or "")
    text = _URL.sub("[url]", text)
    text = _KEY.sub(lambda m: (m.group(1) or "") + "[redacted]", text)
    text = _ADDRESS.sub("[address]", text)
    text = _PATH.sub("[path]", text)
    text = " ".join(text.split())
    if len(text) > _MAX_CHARS:
        text = text[:_MAX_CHARS - 1].rstrip() + "…"
    return text or "no reason given"
