"""REDIS_URL naming a Redis Cluster: the scheme or the switch, and clear errors for what a cluster cannot be."""
from __future__ import annotations

import pytest
from redis.asyncio.cluster import RedisCluster

from services.common import redis_conn


def test_a_cluster_url_gets_redis_pys_cluster_client_with_every_node_and_the_password():
    client = redis_conn.connect("redis+cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7001/0")
    assert isinstance(client, RedisCluster)
    assert [(n.host, n.port) for n in client.startup_nodes] == [("10.0.0.1", 7000), ("10.0.0.2", 7001)]
    assert client.connection_kwargs["password"] == "s3cret"
    assert client.connection_kwargs["connection_class"].pack_command is redis_conn._HiredisPacking.pack_command


def test_rediss_cluster_is_tls():
    client = redis_conn.connect("rediss+cluster://h1:6380")
    assert client.connection_kwargs["connection_class"].__name__ == "_PackedSSLConnection"


@pytest.mark.parametrize("url, message", [("redis+cluster://h1:6379/2", "database 0"),
                                          ("redis+cluster://", "at least one"),
                                          ("redis+cluster://h1", "host:port")])
def test_what_a_cluster_cannot_be_is_refused_clearly(url, message):
    with pytest.raises(ValueError, match=message):
        redis_conn.connect(url)


def test_the_switch_turns_a_plain_url_into_a_cluster_url_and_leaves_others_alone():
    on = {"TOKENYARD_REDIS_CLUSTER": "true"}
    assert redis_conn.cluster_switch("redis://h:6379", on) == "redis+cluster://h:6379"
    assert redis_conn.cluster_switch("rediss://:pw@h:6380", on) == "rediss+cluster://:pw@h:6380"
    assert redis_conn.cluster_switch("redis+cluster://h:6379", on) == "redis+cluster://h:6379"
    assert redis_conn.cluster_switch("redis://h:6379", {}) == "redis://h:6379"
    with pytest.raises(ValueError, match="redis:// or rediss://"):
        redis_conn.cluster_switch("unix:///tmp/redis.sock", on)
