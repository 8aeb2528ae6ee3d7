"""The client's settings in one frozen value, checked once when the client is built."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

OLLAMA_V1 = "http://127.0.0.1:11434/v1"


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    """The gateway's OpenAI base URL, e.g. `http://127.0.0.1:8080/v1`."""
    api_key: str
    fallback_base_url: str | None = OLLAMA_V1
    """The local OpenAI-compatible server used while the gateway is down; None: no fallback."""
    fallback_api_key: str = "ollama"
    """Ollama ignores the key, but the SDK insists on one."""
    fallback_model_map: Mapping[str, str] = field(default_factory=dict)
    """Gateway model name -> local model name; `"*"` names the default. Unmapped names are sent unchanged."""
    attempts: int = 3
    """Tries at the gateway per call before falling back (connection errors, timeouts, 5xx only)."""
    backoff: float = 0.25
    """Seconds before the second try; doubled before each later one, up to `backoff_max`."""
    backoff_max: float = 4.0
    cooldown: float = 30.0
    """Seconds to stay on the fallback after the gateway failed, before probing its /healthz again."""
    timeout: float = 60.0
    """Per-attempt timeout at the gateway; a hung gateway counts as a failure after this long."""
    health_timeout: float = 2.0
    clock: Callable[[], float] = time.monotonic
    """Injected in tests so the cooldown can pass without waiting."""

    def __post_init__(self) -> None:
        if not self.base_url:
            raise ValueError("base_url is required (the gateway's /v1 URL)")
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff < 0 or self.backoff_max < 0 or self.cooldown < 0:
            raise ValueError("backoff, backoff_max and cooldown must not be negative")

    @property
    def health_url(self) -> str:
        """The gateway's liveness endpoint, beside (not under) the /v1 API."""
        root = self.base_url.rstrip("/")
        return (root[: -len("/v1")] if root.endswith("/v1") else root) + "/healthz"

    def backoff_delays(self) -> list[float]:
        """Sleeps between the gateway tries: 0.25, 0.5 for three attempts by default."""
        return [min(self.backoff * 2**i, self.backoff_max) for i in range(self.attempts - 1)]

    def local_model(self, model: str) -> str:
        return self.fallback_model_map.get(model) or self.fallback_model_map.get("*") or model
