"""Which tokenizers may bill a model's prompt, as the router says (ListModels), refreshed in the background.

The edge bounds a prompt's tokens before the call (services/common/prompt_tokens.py) by the largest
count among the tokenizers of every deployment that may serve the model, fallbacks included; only
the router knows those. The answer is cached and refreshed every `refresh` seconds off the request
path; a model it does not know is bounded by UTF-8 bytes, which bounds every tokenizer, so a stale or
missing view can only over-reserve, never under-reserve. Until the first answer, a request waits for
it (one shared ListModels call), so replicas that just started reserve like the others.
"""
from __future__ import annotations

import asyncio
import contextlib

import grpc
import structlog

from services.common.prompt_tokens import BYTES
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

log = structlog.get_logger()
_UNKNOWN = (BYTES,)


class TokenizerBook:
    def __init__(self, router: router_pb2_grpc.RouterServiceStub, refresh: float = 30.0, timeout: float = 5.0) -> None:
        self._router = router
        self._refresh = refresh
        self._timeout = timeout
        self._exact: dict[str, tuple[str, ...]] = {}
        self._patterns: list[tuple[str, tuple[str, ...]]] = []
        self._hedges: dict[str, int] = {}
        self.loaded = False
        self._first: asyncio.Task | None = None

    async def ensure_loaded(self) -> None:
        """Waits for the first answer (shared by every request that arrives before it); no-op afterwards."""
        if self.loaded:
            return
        if self._first is None or self._first.done():
            self._first = asyncio.get_running_loop().create_task(self.load())
        await asyncio.shield(self._first)

    def families(self, model: str) -> tuple[str, ...]:
        found = self._exact.get(model)
        if found is not None:
            return found
        for prefix, names in self._patterns:
            if model.startswith(prefix):
                return names
        return _UNKNOWN

    def hedges(self, model: str) -> int:
        """Most hedges a request for `model` may start (exactly named models; 0 otherwise)."""
        return self._hedges.get(model, 0)

    def apply(self, resp: router_pb2.ListModelsResponse) -> None:
        self._exact = {m.id: tuple(m.tokenizers) or _UNKNOWN for m in resp.models}
        self._hedges = {m.id: m.max_hedges for m in resp.models if m.max_hedges}
        patterns = [(m.id.removesuffix("*"), tuple(m.tokenizers) or _UNKNOWN) for m in resp.patterns]
        self._patterns = sorted(patterns, key=lambda p: len(p[0]), reverse=True)
        self.loaded = True

    async def load(self) -> bool:
        try:
            self.apply(await self._router.ListModels(router_pb2.ListModelsRequest(), timeout=self._timeout))
            return True
        except grpc.aio.AioRpcError as err:
            log.warning("tokenizer_book_refresh_failed", error=err.code().name)
            return False

    async def run(self) -> None:
        """Refreshes until cancelled; retries every second until the first answer."""
        while True:
            ok = await self.load()
            await asyncio.sleep(self._refresh if ok else 1.0)

    async def context(self, _app):
        """aiohttp cleanup_ctx: refresh in the background for the app's lifetime."""
        task = asyncio.get_running_loop().create_task(self.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
