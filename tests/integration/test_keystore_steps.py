"""Key creation and revocation are single-slot steps (Redis Cluster): interrupted anywhere, no key ends up
working while no listing shows it, and a revoked key stops working with the first step."""
from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError

from services.common.keystore import KeyStore


class FailsAt:
    """Passes commands to Redis until the `n`-th write, which fails as a dropped connection would."""

    WRITES = {"sadd", "set", "hset", "delete", "srem"}

    def __init__(self, client, n: int) -> None:
        self._client, self._n, self.writes = client, n, 0

    def __getattr__(self, name):
        method = getattr(self._client, name)
        if name not in self.WRITES:
            return method

        async def write(*args, **kwargs):
            self.writes += 1
            if self.writes == self._n:
                raise ConnectionError("connection lost")
            return await method(*args, **kwargs)
        return write


@pytest.mark.parametrize("step", [1, 2, 3])
async def test_a_creation_cut_short_leaves_no_working_key(redis_client, step):
    with pytest.raises(ConnectionError):
        await KeyStore(FailsAt(redis_client, step)).create(workspace="ws")
    store = KeyStore(redis_client)
    assert await store.list() == []                   # nothing half-made shows up...
    assert await redis_client.keys("ty:key:h:*") == []  # ...and no record exists that a token could unlock


@pytest.mark.parametrize("step", [2, 3])
async def test_a_revocation_cut_short_has_already_refused_the_key(redis_client, step):
    store = KeyStore(redis_client)
    record, token = await store.create(workspace="ws")
    with pytest.raises(ConnectionError):
        await KeyStore(FailsAt(redis_client, step)).revoke(record.key_id)
    assert await store.authenticate(token) is None
    assert await store.list() == []
