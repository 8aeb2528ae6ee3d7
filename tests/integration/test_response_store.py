"""The response cache's store on a real Redis (or cluster): bounded per workspace, least recently used out first."""
from __future__ import annotations

from services.edge.response_cache import AnswerStore, encode
from tokenyard.router.v1 import router_pb2


def answer(text: str) -> list[router_pb2.ChatResponse]:
    return [router_pb2.ChatResponse(id="c", deltas=[router_pb2.ChoiceDelta(content=text)]),
            router_pb2.ChatResponse(id="c", final=router_pb2.ChatFinal(deployment="d"))]


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


async def test_a_full_workspace_evicts_its_least_recently_used_answers_and_no_other_workspaces(redis_client):
    size = len(encode(answer("x" * 100)))
    clock = Clock()
    store = AnswerStore(redis_client, max_entry_bytes=size, max_workspace_bytes=3 * size, clock_ms=clock)
    await store.put("other", "o1", answer("o" * 100), ttl_s=60)
    for i in range(3):
        clock.ms += 1
        await store.put("ws", f"d{i}", answer(str(i) * 100), ttl_s=60)
    clock.ms += 1
    assert await store.get("ws", "d0") is not None              # used: now the most recent
    for i in (3, 4):
        clock.ms += 1
        await store.put("ws", f"d{i}", answer(str(i) * 100), ttl_s=60)
    present = {d for d in ("d0", "d1", "d2", "d3", "d4") if await store.get("ws", d) is not None}
    assert present == {"d0", "d3", "d4"}
    assert await store.used_bytes("ws") == 3 * size
    assert (await store.get("other", "o1"))[0].deltas[0].content == "o" * 100


async def test_an_answer_larger_than_an_entry_may_be_is_not_stored(redis_client):
    store = AnswerStore(redis_client, max_entry_bytes=64, max_workspace_bytes=1024, clock_ms=Clock())
    assert not await store.put("ws", "big", answer("y" * 100), ttl_s=60)
    assert await store.get("ws", "big") is None and await store.used_bytes("ws") == 0


async def test_entries_past_their_ttl_leave_the_size_ledger(redis_client):
    size = len(encode(answer("z")))
    clock = Clock()
    store = AnswerStore(redis_client, max_entry_bytes=size, max_workspace_bytes=10 * size, clock_ms=clock)
    await store.put("ws", "old", answer("z"), ttl_s=1)
    clock.ms += 5_000                                            # long expired (Redis dropped the entry itself)
    await store.put("ws", "new", answer("z"), ttl_s=1)
    assert await store.used_bytes("ws") == size
