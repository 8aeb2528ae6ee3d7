"""The edge's view of the router's tokenizers: unknown models count as bytes; a new edge waits for it once."""
from __future__ import annotations

import asyncio

from services.common.prompt_tokens import BYTES, O200K
from services.edge.tokenizer_book import TokenizerBook
from tokenyard.router.v1 import router_pb2


class FakeRouter:
    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()

    async def ListModels(self, request, timeout=None):
        self.calls += 1
        await self.gate.wait()
        return router_pb2.ListModelsResponse(
            models=[router_pb2.ModelInfo(id="gpt-4o", tokenizers=[O200K])],
            patterns=[router_pb2.ModelInfo(id="fake-*", tokenizers=[O200K]),
                      router_pb2.ModelInfo(id="fake-slow-*", tokenizers=[BYTES])])


async def test_requests_before_the_first_answer_share_one_call_and_then_see_it():
    router = FakeRouter()
    book = TokenizerBook(router)
    assert book.families("gpt-4o") == (BYTES,)
    waiting = [asyncio.create_task(book.ensure_loaded()) for _ in range(5)]
    await asyncio.sleep(0)
    router.gate.set()
    await asyncio.gather(*waiting)
    assert router.calls == 1 and book.loaded
    assert book.families("gpt-4o") == (O200K,)
    assert book.families("fake-echo") == (O200K,) and book.families("fake-slow-9") == (BYTES,)
    assert book.families("claude") == (BYTES,)
    await book.ensure_loaded()
    assert router.calls == 1
