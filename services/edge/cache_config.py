"""The `cache:` section of tokenyard.yaml: the exact-match response cache (off unless opted into)."""
from __future__ import annotations

from pydantic import Field, model_validator

from services.common.config_models import Section, parse


class CacheConfig(Section):
    """Opt-in per request (`x-tokenyard-cache: on|off|refresh`), per key (`metadata: {cache: "on"}`) or per
    model (`models`); `off` on a request always wins."""

    models: tuple[str, ...] = ()
    """Model names (as clients send them) whose requests are cached without being asked to."""
    ttl_seconds: float = Field(3600.0, gt=0, le=30 * 86400)
    """How long an answer is served from the cache; `x-tokenyard-cache-ttl` may ask for less."""
    any_temperature: bool = False
    """Cache requests that are not deterministic-enough too (temperature above 0 and no seed)."""
    max_entry_bytes: int = Field(256 * 1024, gt=0)
    """Answers larger than this (as stored) are not cached."""
    max_workspace_bytes: int = Field(64 * 1024 * 1024, gt=0)
    """Per workspace; storing past it evicts the workspace's least recently used answers."""
    hit_cost_micros: int = Field(0, ge=0)
    """What a cache hit costs the caller, in micro-dollars (tokens are metered as usual either way)."""

    @model_validator(mode="after")
    def _entry_fits(self) -> "CacheConfig":
        if self.max_entry_bytes > self.max_workspace_bytes:
            raise ValueError("max_entry_bytes must not exceed max_workspace_bytes")
        return self

    @classmethod
    def from_config(cls, raw) -> "CacheConfig":
        """The section, or a ConfigError naming each bad field (`cache.ttl_seconds: ...`)."""
        return parse(cls, raw, "cache")
