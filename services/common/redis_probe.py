"""Whether Redis can serve this process's calls: for readiness checks, where a PING is not enough.

A plain client pointed at one node of a Redis Cluster gets PONG from it and MOVED for most keys, so
PING alone would call that setup ready; a cluster client's PING would pass while a master is down and
its slots are served by nobody. `probe()` answers with one word per case, for `/readyz` bodies, gRPC health and logs.
"""
from __future__ import annotations

import asyncio

from redis.asyncio.cluster import RedisCluster

OK = "ok"
UNAVAILABLE = "unavailable"
"""No answer (down, unreachable, timed out)."""
CLUSTER_DOWN = "cluster_down"
"""A Cluster that says `cluster_state:fail`: some slots have no master (mid-failover, or a shard lost)."""
NEEDS_CLUSTER_URL = "needs_cluster_url"
"""A Cluster node reached as a single Redis: REDIS_URL wants redis+cluster:// (or TOKENYARD_REDIS_CLUSTER)."""


async def probe(client, timeout: float = 1.0) -> tuple[str, str]:
    """(state, detail): `OK` or one of the other states, with the exception or Redis's words as detail."""
    try:
        async with asyncio.timeout(timeout):
            if isinstance(client, RedisCluster):
                return await _cluster(client)
            info = await client.info("cluster")
    except Exception as exc:  # any failure means "cannot serve"; the caller logs the detail
        return UNAVAILABLE, type(exc).__name__
    if int(info.get("cluster_enabled", 0)):
        return NEEDS_CLUSTER_URL, "this Redis is a Cluster node"
    return OK, ""


async def _cluster(client: RedisCluster) -> tuple[str, str]:
    await client.ping(target_nodes=RedisCluster.PRIMARIES)  # every master this client routes to answers
    info = await client.cluster_info(target_nodes=RedisCluster.RANDOM)
    state = info.get("cluster_state", "")
    if state != "ok":
        return CLUSTER_DOWN, f"cluster_state:{state}"
    return OK, ""
