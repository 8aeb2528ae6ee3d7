"""Stored responses in a real Redis: per workspace, with a TTL, bounded in size."""
from __future__ import annotations

from services.edge.responses_store import ResponseStore


async def test_a_response_is_visible_only_in_its_workspace_and_expires(redis_client):
    store = ResponseStore(redis_client, ttl_seconds=120)
    assert await store.put("ws-a", {"id": "resp_1", "output": []}, [{"role": "user", "content": "hi"}])
    assert (await store.get("ws-a", "resp_1"))["conversation"] == [{"role": "user", "content": "hi"}]
    assert await store.get("ws-b", "resp_1") is None
    assert not await store.delete("ws-b", "resp_1")
    keys = [k async for k in redis_client.scan_iter("ty:resp:*")]
    assert len(keys) == 1 and 0 < await redis_client.ttl(keys[0]) <= 120
    assert await store.delete("ws-a", "resp_1") and await store.get("ws-a", "resp_1") is None


async def test_an_oversized_conversation_is_not_stored(redis_client):
    store = ResponseStore(redis_client, ttl_seconds=60, max_bytes=1000)
    assert not await store.put("ws", {"id": "resp_big", "output": []}, [{"role": "user", "content": "x" * 2000}])
    assert await store.get("ws", "resp_big") is None
