"""Edge settings from the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from services.common import config_file, redis_conn
from services.common.env import ConfigError, env_float, env_int, env_str
from services.common.metrics import metrics_port
from services.common.mesh_security import MeshSecurity
from services.common.model_labels import ModelLabels
from services.edge.cache_config import CacheConfig


@dataclass(frozen=True)
class EdgeConfig:
    master_key: str = field(repr=False)
    """TOKENYARD_MASTER_KEY: full access. Never logged (repr=False)."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """REDIS_URL: virtual keys and rate limits."""
    host: str = "127.0.0.1"
    port: int = 8080
    router_addr: str = "127.0.0.1:50051"
    meter_addr: str = "127.0.0.1:50052"
    runtime_addr: str = "127.0.0.1:50053"
    """TOKENYARD_RUNTIME_ADDR: agents, sessions, agent chat, drive."""
    max_body_bytes: int = 8 * 1024 * 1024
    """Larger request bodies get 413."""
    max_messages: int = 2048
    """Chat requests with more messages get 400."""
    drive_max_file_size: int = 50 * 1024 * 1024
    """DRIVE_MAX_FILE_SIZE, the same variable the runtime enforces: the edge stops streaming an upload
    once it is past the limit, so the client gets the runtime's 413 rather than a broken call."""
    request_timeout: float = 600.0
    """gRPC deadline for one chat request, in seconds."""
    shutdown_grace: float = 20.0
    header_timeout: float = 30.0
    """TOKENYARD_HEADER_TIMEOUT: seconds a connection may take to send a request's headers (and may stay
    idle between requests); a slowloris client is disconnected after it."""
    body_timeout: float = 30.0
    """TOKENYARD_BODY_TIMEOUT: seconds to receive a request body (multipart uploads excepted); past it, 408."""
    responses_ttl: int = 7 * 24 * 3600
    """TOKENYARD_RESPONSES_TTL: seconds a stored Responses API response (`store: true`) stays retrievable
    and continuable with `previous_response_id`."""
    security: MeshSecurity = field(default_factory=MeshSecurity)
    """The key the edge's gRPC calls carry (the master key) and TLS (services.common.mesh_security)."""
    model_labels: ModelLabels | None = None
    """The model names metrics may use as labels (the config file's exact names; others are `other`)."""
    metrics_port: int = 0
    """TOKENYARD_EDGE_METRICS_PORT (or TOKENYARD_METRICS_PORT): `GET /metrics` without a key on this internal
    port (on TOKENYARD_METRICS_HOST, default 127.0.0.1). On the public port `/metrics` needs the master key."""
    trace_ui_url: str = ""
    """TOKENYARD_TRACE_UI_URL: a trace viewer address with `{trace_id}` (e.g. Jaeger's
    http://127.0.0.1:16686/trace/{trace_id}); the console links each request to its trace."""
    cache: CacheConfig = field(default_factory=CacheConfig)
    """The `cache:` section of tokenyard.yaml: the exact-match response cache (services/edge/cached_router.py)."""

    @classmethod
    def from_env(cls) -> "EdgeConfig":
        key = env_str("TOKENYARD_MASTER_KEY")
        if len(key) < 16:
            raise ConfigError("TOKENYARD_MASTER_KEY must be at least 16 characters")
        return cls(
            master_key=key,
            redis_url=redis_conn.cluster_switch(env_str("REDIS_URL")),
            host=env_str("TOKENYARD_HTTP_HOST", "127.0.0.1"),
            port=env_int("TOKENYARD_HTTP_PORT", 8080),
            router_addr=env_str("TOKENYARD_ROUTER_ADDR", "127.0.0.1:50051"),
            meter_addr=env_str("TOKENYARD_METER_ADDR", "127.0.0.1:50052"),
            runtime_addr=env_str("TOKENYARD_RUNTIME_ADDR", "127.0.0.1:50053"),
            max_body_bytes=env_int("TOKENYARD_MAX_BODY_BYTES", 8 * 1024 * 1024),
            max_messages=env_int("TOKENYARD_MAX_MESSAGES", 2048),
            drive_max_file_size=env_int("DRIVE_MAX_FILE_SIZE", 50 * 1024 * 1024),
            request_timeout=env_float("TOKENYARD_REQUEST_TIMEOUT", 600.0),
            shutdown_grace=env_float("TOKENYARD_SHUTDOWN_GRACE", 20.0),
            header_timeout=env_float("TOKENYARD_HEADER_TIMEOUT", 30.0),
            body_timeout=env_float("TOKENYARD_BODY_TIMEOUT", 30.0),
            responses_ttl=env_int("TOKENYARD_RESPONSES_TTL", 7 * 24 * 3600),
            security=MeshSecurity.from_env(),
            model_labels=ModelLabels.from_config(config_file.load()),
            metrics_port=metrics_port("edge"),
            trace_ui_url=os.environ.get("TOKENYARD_TRACE_UI_URL", "").strip(),
            cache=CacheConfig.from_config(config_file.load().get("cache")),
        )
