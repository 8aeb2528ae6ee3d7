"""The request-side rules both clients share: the fallback's version of a call and its ledger entry."""
from __future__ import annotations

from typing import Any

from tokenyard_client.config import ClientConfig


def fallback_kwargs(cfg: ClientConfig, kwargs: dict[str, Any], stream: bool) -> tuple[dict[str, Any], bool]:
    """The call as the fallback gets it: the local model name, and for a stream the usage chunk (for the
    ledger) unless the caller asked for stream_options themselves. Returns (kwargs, hide_usage_chunk)."""
    out = {**kwargs, "model": cfg.local_model(kwargs["model"])}
    if stream and "stream_options" not in kwargs:
        out["stream_options"] = {"include_usage": True}
        return out, True
    return out, False
