"""One Redis client per process, connection-pooled, created where a service is wired."""
from __future__ import annotations

import hiredis
import redis.asyncio as redis
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError, DataError

RETRIES = 3
"""Tries again on a connection error: after a Redis restart every pooled connection is dead, and without
this each one failed the request that drew it (a key creation got 500). A dead socket is found before
Redis saw the command, so a retry cannot apply it twice; timeouts are not retried (they might have)."""

MAX_CONNECTIONS = 64
"""Per process. Redis calls are short, so 64 in flight is plenty; a burst beyond it waits for a free
connection (up to the socket timeout) instead of opening ever more sockets that then stay pooled."""


class _HiredisPacking:
    """Packs commands with hiredis (C) rather than redis-py's Python packer, which the asyncio client always
    uses (the sync client switches to hiredis by itself). The meter's usage script has ~100 arguments:
    58 us to pack in Python, 7 us here, the same bytes. Replies are parsed by hiredis too, once installed."""

    def pack_command(self, *args) -> list[bytes]:
        if isinstance(args[0], str):
            args = tuple(args[0].encode().split()) + args[1:]  # "SCRIPT LOAD" is two arguments
        elif b" " in args[0]:
            args = tuple(args[0].split()) + args[1:]
        try:
            return [hiredis.pack_command(args)]
        except TypeError as exc:  # bool, None...: what redis-py's own encoder refuses too
            raise DataError(str(exc)) from None


class _PackedConnection(_HiredisPacking, Connection):
    pass


class _PackedUnixConnection(_HiredisPacking, UnixDomainSocketConnection):
    pass


class _PackedSSLConnection(_HiredisPacking, SSLConnection):
    pass


_PACKED = {Connection: _PackedConnection, UnixDomainSocketConnection: _PackedUnixConnection,
           SSLConnection: _PackedSSLConnection}


def connect(url: str, max_connections: int = MAX_CONNECTIONS) -> redis.Redis:
    """A pooled async client; short timeouts so a dead Redis fails fast instead of stalling requests."""
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=2.0, decode_responses=False, socket_timeout=2.0,
        socket_connect_timeout=2.0, health_check_interval=30,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), RETRIES), retry_on_error=[RedisConnectionError])
    # The URL's scheme chose TCP, unix socket or TLS; keep that choice, add the C packer.
    pool.connection_class = _PACKED.get(pool.connection_class, pool.connection_class)
    return redis.Redis(connection_pool=pool)
