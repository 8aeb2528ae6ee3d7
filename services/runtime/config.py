"""Runtime settings from the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from services.common import redis_conn
from services.common.env import ConfigError, env_float, env_int, env_str
from services.common import config_file
from services.common.mesh_security import MeshSecurity
from services.common.outbound import OutboundPolicy
from services.runtime.crypto import WeakKey, random_key

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RuntimeConfig:
    redis_url: str
    """Agents, sessions, drive metadata and remote-agent health live here (REDIS_URL)."""
    listen: str = "127.0.0.1:50053"
    router_addr: str = "127.0.0.1:50051"
    """Where agent chat sends its model calls (TOKENYARD_ROUTER_ADDR)."""
    edge_url: str = "http://127.0.0.1:8080"
    """What agent processes get as OPENAI_BASE_URL (plus /v1), so their traffic is routed and metered."""
    encryption_key: str = field(default="", repr=False)
    """TOKENYARD_ENCRYPTION_KEY: 32 random bytes in base64 (a passphrase is refused at start). Empty
    disables storing secrets."""
    old_encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    """TOKENYARD_ENCRYPTION_KEYS_OLD (comma-separated): still decrypt, re-sealed under the current key on use."""
    state_dir: Path = ROOT / ".data" / "runtime"
    """Per-agent config files, pid files and captured output (TOKENYARD_RUNTIME_STATE)."""
    drive_path: Path = ROOT / ".data" / "drive"
    """DRIVE_STORAGE_PATH: one folder per agent."""
    drive_max_file_size: int = 50 * 1024 * 1024
    """DRIVE_MAX_FILE_SIZE in bytes; larger uploads are refused while streaming."""
    session_ttl: float = 30 * 86400.0
    """Sessions idle longer than this are removed by cleanup (TOKENYARD_SESSION_TTL, seconds)."""
    session_sweep_interval: float = 3600.0
    """TOKENYARD_SESSION_SWEEP_SECONDS: how often expired sessions are deleted (0: only on cleanup calls)."""
    stop_agents_on_exit: bool = True
    """On a graceful shutdown, stop the agents it runs (after a crash they are re-adopted instead)."""
    chat_timeout: float = 600.0
    """Deadline of one agent chat call to the router, in seconds."""
    shutdown_grace: float = 10.0
    security: MeshSecurity = field(default_factory=MeshSecurity)
    """The master key every gRPC call carries and is checked for, and TLS (services.common.mesh_security)."""
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    """The config file's `outbound:` section: where agents' BYOK base URLs and remote agents may point."""

    @classmethod
    def from_env(cls) -> "RuntimeConfig":
        max_size = env_int("DRIVE_MAX_FILE_SIZE", 50 * 1024 * 1024)
        if max_size <= 0:
            raise ConfigError("DRIVE_MAX_FILE_SIZE must be a positive number of bytes")
        old = tuple(k.strip() for k in os.environ.get("TOKENYARD_ENCRYPTION_KEYS_OLD", "").split(",") if k.strip())
        current = os.environ.get("TOKENYARD_ENCRYPTION_KEY", "")
        if current:
            try:
                random_key(current)
            except WeakKey as exc:
                raise ConfigError(str(exc)) from None
        return cls(
            redis_url=redis_conn.cluster_switch(env_str("REDIS_URL")),
            listen=f"{env_str('TOKENYARD_GRPC_HOST', '127.0.0.1')}:{env_int('TOKENYARD_RUNTIME_PORT', 50053)}",
            router_addr=env_str("TOKENYARD_ROUTER_ADDR", "127.0.0.1:50051"),
            edge_url=env_str("TOKENYARD_EDGE_URL", f"http://127.0.0.1:{env_int('TOKENYARD_HTTP_PORT', 8080)}"),
            encryption_key=current,
            old_encryption_keys=old,
            state_dir=Path(env_str("TOKENYARD_RUNTIME_STATE", str(ROOT / ".data" / "runtime"))),
            drive_path=Path(env_str("DRIVE_STORAGE_PATH", str(ROOT / ".data" / "drive"))),
            drive_max_file_size=max_size,
            session_ttl=env_float("TOKENYARD_SESSION_TTL", 30 * 86400.0),
            session_sweep_interval=env_float("TOKENYARD_SESSION_SWEEP_SECONDS", 3600.0),
            stop_agents_on_exit=os.environ.get("TOKENYARD_RUNTIME_STOP_AGENTS_ON_EXIT", "1") not in ("0", "false"),
            chat_timeout=env_float("TOKENYARD_REQUEST_TIMEOUT", 600.0),
            shutdown_grace=env_float("TOKENYARD_SHUTDOWN_GRACE", 10.0),
            security=MeshSecurity.from_env(),
            outbound=OutboundPolicy.from_config(config_file.load().get("outbound"), os.environ),
        )
