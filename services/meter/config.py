"""Meter settings: process settings from the environment, prices and tiers from the config file."""
from __future__ import annotations

from dataclasses import dataclass, field

from services.common import config_file, redis_conn
from services.common.env import env_float, env_int, env_str
from services.common.mesh_security import MeshSecurity
from services.common.pricing import PriceBook
from services.meter.ledger import AGGREGATE_TTL_SECONDS, DEDUP_TTL_SECONDS, SUBJECT_TTL_SECONDS
from services.meter.requestlog.settings import RequestLogSettings
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
    request_log: RequestLogSettings = field(default_factory=RequestLogSettings)
    """Where per-request records go (SQLite by default, PostgreSQL when TOKENYARD_REQUEST_LOG_URL is set)."""
    dedup_ttl: int = DEDUP_TTL_SECONDS
    """TOKENYARD_USAGE_DEDUP_TTL: seconds a request id is remembered as applied (its record re-sent later
    than this would count again; senders re-deliver within minutes)."""
    subject_ttl: int = SUBJECT_TTL_SECONDS
    aggregate_ttl: int = AGGREGATE_TTL_SECONDS
    """TOKENYARD_USAGE_AGGREGATE_DAYS (in days there): how long per-day usage aggregates are kept in Redis."""
    """TOKENYARD_USAGE_SUBJECT_DAYS (in days there): how long per-user and per-session aggregates are kept."""

    @classmethod
    def from_env(cls) -> "MeterConfig":
        from services.router.config_parse import configured  # the deployments' prices and vendors

        raw = config_file.load()
        # TOKENYARD_GRPC_HOST=0.0.0.0 in containers, where peers reach us from other hosts.
        host = env_str("TOKENYARD_GRPC_HOST", "127.0.0.1")
        return cls(redis_url=redis_conn.cluster_switch(env_str("REDIS_URL")),
                   listen=f"{host}:{env_int('TOKENYARD_METER_PORT', 50052)}",
                   shutdown_grace=env_float("TOKENYARD_SHUTDOWN_GRACE", 10.0),
                   pricing=PriceBook.from_config(raw.get("pricing"), configured(raw), VendorPrices()),
                   tiers=TierBook.from_config(raw.get("tiers")),
                   default_max_tokens=env_int("TOKENYARD_DEFAULT_MAX_TOKENS", 4096),
                   reservation_ttl=env_float("TOKENYARD_RESERVATION_TTL", 900.0),
                   security=MeshSecurity.from_env(),
                   request_log=RequestLogSettings.from_env(),
                   dedup_ttl=env_int("TOKENYARD_USAGE_DEDUP_TTL", DEDUP_TTL_SECONDS),
                   subject_ttl=env_int("TOKENYARD_USAGE_SUBJECT_DAYS", SUBJECT_TTL_SECONDS // 86400) * 86400,
                   aggregate_ttl=env_int("TOKENYARD_USAGE_AGGREGATE_DAYS", AGGREGATE_TTL_SECONDS // 86400) * 86400)
