"""Meter settings: process settings from the environment, prices and tiers from the config file."""
from __future__ import annotations

from dataclasses import dataclass, field

from services.common import config_file
from services.common.env import env_float, env_int, env_str
from services.common.mesh_security import MeshSecurity
from services.common.pricing import PriceBook
from services.common.vendor_prices import VendorPrices
from services.meter.tiers import TierBook


@dataclass(frozen=True)
class MeterConfig:
    redis_url: str
    """Where records, aggregates, quotas and budgets live (REDIS_URL)."""
    listen: str = "127.0.0.1:50052"
    shutdown_grace: float = 10.0
    pricing: PriceBook = field(default_factory=PriceBook)
    """Vendors' prices (genai-prices) under the `pricing:` section and the deployments' `price:`."""
    tiers: TierBook = field(default_factory=lambda: TierBook.from_config(None))
    """`tiers:` section (the issue's economy/standard/premium when the section is absent)."""
    default_max_tokens: int = 4096
    """Completion tokens reserved against budgets for a request that sets no max_tokens."""
    reservation_ttl: float = 900.0
    """Seconds after which a budget reservation nobody settled or released is given back."""
    security: MeshSecurity = field(default_factory=MeshSecurity)
    """The master key every gRPC call carries and is checked for, and TLS (services.common.mesh_security)."""

    @classmethod
    def from_env(cls) -> "MeterConfig":
        from services.router.config_parse import configured  # the deployments' prices and vendors

        raw = config_file.load()
        # TOKENYARD_GRPC_HOST=0.0.0.0 in containers, where peers reach us from other hosts.
        host = env_str("TOKENYARD_GRPC_HOST", "127.0.0.1")
        return cls(redis_url=env_str("REDIS_URL"), listen=f"{host}:{env_int('TOKENYARD_METER_PORT', 50052)}",
                   shutdown_grace=env_float("TOKENYARD_SHUTDOWN_GRACE", 10.0),
                   pricing=PriceBook.from_config(raw.get("pricing"), configured(raw), VendorPrices()),
                   tiers=TierBook.from_config(raw.get("tiers")),
                   default_max_tokens=env_int("TOKENYARD_DEFAULT_MAX_TOKENS", 4096),
                   reservation_ttl=env_float("TOKENYARD_RESERVATION_TTL", 900.0),
                   security=MeshSecurity.from_env())
