"""One Redis client per process, connection-pooled, created where a service is wired."""
from __future__ import annotations

import redis.asyncio as redis

MAX_CONNECTIONS = 64
"""Per process. Redis calls are short, so 64 in flight is plenty; a burst beyond it waits for a free
connection (up to the socket timeout) instead of opening ever more sockets that then stay pooled."""


def connect(url: str, max_connections: int = MAX_CONNECTIONS) -> redis.Redis:
    """A pooled async client; short timeouts so a dead Redis fails fast instead of stalling requests."""
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=2.0, decode_responses=False, socket_timeout=2.0,
        socket_connect_timeout=2.0, health_check_interval=30)
    return redis.Redis(connection_pool=pool)
