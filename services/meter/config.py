"""Meter settings from the environment."""
from __future__ import annotations

from dataclasses import dataclass

from services.common.env import env_float, env_int, env_str


@dataclass(frozen=True)
class MeterConfig:
    redis_url: str
    """Where records and aggregates live (REDIS_URL)."""
    listen: str = "127.0.0.1:50052"
    shutdown_grace: float = 10.0

    @classmethod
    def from_env(cls) -> "MeterConfig":
        # TOKENYARD_GRPC_HOST=0.0.0.0 in containers, where peers reach us from other hosts.
        host = env_str("TOKENYARD_GRPC_HOST", "127.0.0.1")
        return cls(redis_url=env_str("REDIS_URL"), listen=f"{host}:{env_int('TOKENYARD_METER_PORT', 50052)}",
                   shutdown_grace=env_float("TOKENYARD_SHUTDOWN_GRACE", 10.0))
