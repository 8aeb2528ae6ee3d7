"""The shared Redis client packs commands with hiredis: same replies as redis-py's own packer, same refusals."""
from __future__ import annotations

import pytest
from redis.exceptions import DataError

from services.common import redis_conn


async def test_values_of_every_type_round_trip_and_multi_word_commands_work(redis_server):
    client = redis_conn.connect(redis_server.url)
    try:
        await client.hset("conn:test", mapping={"s": "héllo", "i": 42, "f": 0.1, "b": b"\x00\xff"})
        assert await client.hgetall("conn:test") == {b"s": "héllo".encode(), b"i": b"42", b"f": b"0.1",
                                                     b"b": b"\x00\xff"}
        assert await client.execute_command("CONFIG GET", "maxmemory")  # the name is split into two arguments
        sha = await client.script_load("return ARGV[1] + ARGV[2]")
        assert await client.evalsha(sha, 0, 40, 2) == 42
    finally:
        await client.aclose()


async def test_a_value_redis_py_refuses_is_still_a_data_error(redis_server):
    client = redis_conn.connect(redis_server.url)
    try:
        with pytest.raises(DataError):
            await client.set("conn:none", None)
        assert await client.exists("conn:none") == 0
    finally:
        await client.aclose()


def test_the_url_scheme_still_picks_tcp_unix_or_tls():
    for url, base in (("redis://127.0.0.1:1", "Connection"), ("unix:///tmp/x.sock", "UnixDomainSocketConnection"),
                      ("rediss://127.0.0.1:1", "SSLConnection")):
        cls = redis_conn.connect(url).connection_pool.connection_class
        assert base in [c.__name__ for c in cls.__mro__] and cls.pack_command is redis_conn._HiredisPacking.pack_command


async def test_a_cluster_clients_connections_pack_with_hiredis_too(redis_cluster):
    client = redis_conn.connect(redis_cluster.url)
    try:
        for i in range(20):  # keys of many slots: connections to every master
            await client.set(f"conn:{i}", i)
        conns = [c for node in client.get_nodes() for c in node._connections]
        assert len({c.port for c in conns}) == 3
        assert all(type(c).pack_command is redis_conn._HiredisPacking.pack_command for c in conns)
    finally:
        await client.aclose()
