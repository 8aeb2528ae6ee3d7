"""One Redis client per process, connection-pooled, created where a service is wired.

`REDIS_URL` names one Redis (`redis://`, `rediss://`, `unix://`) or a Redis Cluster: either
`redis+cluster://host:port,host:port,...` (`rediss+cluster://` for TLS; any one live node is enough,
the client discovers the rest) or a plain URL with `TOKENYARD_REDIS_CLUSTER=true`. A cluster gets
redis-py's own asyncio `RedisCluster`, which follows MOVED/ASK, refreshes its slot map after a failover
and sends each command to the master of its key's slot; every script and transaction of Tokenyard names
keys of one hash slot (docs/REDIS_CLUSTER.md), so nothing more is needed here.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

import hiredis
import structlog
import redis.asyncio as redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import (AskError, ClusterCrossSlotError, ClusterDownError, ConnectionError, CrossSlotTransactionError,
                              DataError, SlotNotCoveredError, TimeoutError, TryAgainError)
from redis.exceptions import ConnectionError as RedisConnectionError

log = structlog.get_logger()

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


UNAVAILABLE = (ConnectionError, TimeoutError, ClusterDownError, TryAgainError, SlotNotCoveredError)
"""Redis is down or a Cluster is between a master's death and its replica's promotion: retry later."""

MISCONFIGURED = (AskError, ClusterCrossSlotError, CrossSlotTransactionError)
"""Will not cure itself: a plain client on a Cluster node (MOVED/ASK; set REDIS_URL to redis+cluster://),
or keys of several slots in one script or transaction (a bug). Retrying the same call cannot succeed."""

CLUSTER_MAX_CONNECTIONS = 256
"""Per node per process. redis-py's cluster pool does not wait for a free connection (it raises
MaxConnectionsError), so it gets more headroom than the blocking single-node pool."""

_CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}
_TRUE = {"1", "true", "yes", "on"}


def cluster_switch(url: str, env: Mapping[str, str] | None = None) -> str:
    """REDIS_URL as a cluster URL when TOKENYARD_REDIS_CLUSTER=true says so (every service's config calls it)."""
    env = os.environ if env is None else env
    if not url or env.get("TOKENYARD_REDIS_CLUSTER", "").strip().lower() not in _TRUE or is_cluster(url):
        return url
    scheme, _, rest = url.partition("://")
    if scheme not in ("redis", "rediss"):
        raise ValueError(f"TOKENYARD_REDIS_CLUSTER=true needs a redis:// or rediss:// REDIS_URL, not {scheme}://")
    return f"{scheme}+cluster://{rest}"


def is_cluster(url: str) -> bool:
    return url.split("://", 1)[0] in _CLUSTER_SCHEMES


def connect(url: str, max_connections: int = MAX_CONNECTIONS) -> redis.Redis:
    """A pooled async client; short timeouts so a dead Redis fails fast instead of stalling requests."""
    if is_cluster(url):
        return connect_cluster(url)
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=2.0, decode_responses=False, socket_timeout=2.0,
        socket_connect_timeout=2.0, health_check_interval=30,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), RETRIES), retry_on_error=[RedisConnectionError])
    # The URL's scheme chose TCP, unix socket or TLS; keep that choice, add the C packer.
    pool.connection_class = _PACKED.get(pool.connection_class, pool.connection_class)
    return redis.Redis(connection_pool=pool)


def connect_cluster(url: str, max_connections: int = CLUSTER_MAX_CONNECTIONS) -> RedisCluster:
    """redis-py's RedisCluster from `redis+cluster://[user:password@]host:port,host:port[/0]`."""
    parts = urlsplit(url)
    tls = _CLUSTER_SCHEMES[parts.scheme]
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    if parts.path not in ("", "/", "/0"):
        raise ValueError("a Redis Cluster has only database 0; drop the /N from REDIS_URL")
    nodes = []
    for hostport in filter(None, hosts.split(",")):
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"REDIS_URL: cluster node {hostport!r} is not host:port")
        nodes.append(ClusterNode(host.strip("[]"), int(port)))
    if not nodes:
        raise ValueError("REDIS_URL: a redis+cluster:// URL needs at least one host:port")
    client = RedisCluster(
        startup_nodes=nodes, username=unquote(username) or None, password=unquote(password) or None, ssl=tls,
        max_connections=max_connections, decode_responses=False, socket_timeout=2.0, socket_connect_timeout=2.0,
        health_check_interval=30, require_full_coverage=True)
    # RedisCluster builds its connections from one kwargs dict shared by every node it discovers later;
    # giving it the packed class there (and to the startup nodes) keeps the C packer on a cluster too.
    base = client.connection_kwargs["connection_class"]
    packed = _PACKED.get(base, base)
    client.connection_kwargs["connection_class"] = packed
    for node in client.startup_nodes:
        node.connection_class = packed
    return client


async def warm(client) -> None:
    """A Cluster client learns the slot map now, before traffic: left to the first calls, redis-py's
    refresh recycles connections that concurrent first calls are using (1 in ~2,000 of a cold burst of
    300 failed here). An unreachable cluster is not fatal: the first call tries again."""
    if isinstance(client, RedisCluster):
        try:
            await client.initialize()
        except Exception as exc:  # the services start degraded, as they do with a single Redis down
            log.warning("redis_cluster_unreachable_at_start", error=type(exc).__name__)
