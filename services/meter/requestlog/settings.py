"""Request log settings (environment): where the log lives, how long rows stay, how big it may grow."""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.common.env import env_float, env_int, env_str

DEFAULT_PATH = Path(__file__).resolve().parents[3] / ".data" / "requests.db"


class RequestLogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = ""
    """TOKENYARD_REQUEST_LOG_URL: a `postgresql://` URL; empty: the SQLite file at `path`."""
    path: Path = DEFAULT_PATH
    """TOKENYARD_REQUEST_LOG_PATH: the SQLite file (WAL), by default `.data/requests.db`."""
    retention_days: int = Field(30, ge=1)
    """TOKENYARD_REQUEST_LOG_RETENTION_DAYS: rows older than this are deleted by the sweeper."""
    max_rows: int = Field(10_000_000, ge=1)
    """TOKENYARD_REQUEST_LOG_MAX_ROWS: the size cap; past it the oldest rows go first."""
    batch_size: int = Field(500, ge=1)
    """Rows per write (one transaction)."""
    linger: float = Field(0.05, ge=0)
    """Seconds a write waits after its first row, so concurrent requests share one transaction."""
    max_pending: int = Field(50_000, ge=1)
    """Rows held while the store is slow or down; beyond it new rows are dropped (counted), never waited for."""
    sweep_interval: float = Field(300.0, gt=0)
    """TOKENYARD_REQUEST_LOG_SWEEP_SECONDS: how often retention and the cap are applied."""

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, v: str) -> str:
        if v and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError("TOKENYARD_REQUEST_LOG_URL must be a postgresql:// URL (leave it empty for SQLite)")
        return v

    @classmethod
    def from_env(cls) -> "RequestLogSettings":
        return cls(url=os.environ.get("TOKENYARD_REQUEST_LOG_URL", "").strip(),
                   path=Path(env_str("TOKENYARD_REQUEST_LOG_PATH", str(DEFAULT_PATH))),
                   retention_days=env_int("TOKENYARD_REQUEST_LOG_RETENTION_DAYS", 30),
                   max_rows=env_int("TOKENYARD_REQUEST_LOG_MAX_ROWS", 10_000_000),
                   sweep_interval=env_float("TOKENYARD_REQUEST_LOG_SWEEP_SECONDS", 300.0))

    def open_store(self):
        if self.url:
            from services.meter.requestlog.postgres_store import PostgresRequestLog

            return PostgresRequestLog(self.url)
        from services.meter.requestlog.sqlite_store import SQLiteRequestLog

        return SQLiteRequestLog(self.path)
