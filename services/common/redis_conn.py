"""One Redis client per process, connection-pooled, created where a service is wired."""
from __future__ import annotations

import redis.asyncio as redis


def connect(url: str) -> redis.Redis:
    """A pooled async client; short timeouts so a dead Redis fails fast instead of stalling requests."""
    return redis.Redis.from_url(url, decode_responses=False, socket_timeout=2.0, socket_connect_timeout=2.0,
                                health_check_interval=30)
