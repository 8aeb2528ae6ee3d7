"""An unexpected exception inside an upstream attempt (an adapter bug, an input it cannot handle) is a
failed attempt: the client gets a clear 502 in the error table, and the deployment's in-flight count is
released, so with `max_concurrency` the deployment is not blocked for good (issue 16, item 8)."""
from __future__ import annotations

import grpc
import pytest

from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router


class _Crashing:
    """A provider whose every call fails with something no adapter should raise."""

    def __init__(self, after_first: bool = False) -> None:
        self.after_first = after_first

    async def stream(self, request, upstream_model, *, api_key=None, whole=False):
        if self.after_first:
            yield [{"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "partial "}}]}]
        raise KeyError("choices")

    async def embed(self, request, upstream_model, *, api_key=None):
        raise ValueError("Input too long to encode safely")

    async def aclose(self):
        return None


@pytest.mark.parametrize("after_first", [False, True])
async def test_a_crashing_attempt_answers_clearly_and_releases_its_slot(redis_client, after_first):
    up = await FaultUpstream("up").start()
    routing = {"retry": {"attempts": 1}, "breaker": {"consecutive": 1000, "min_calls": 1000}}
    r = await start_router([openai_dep("crashy", up, ["m"], max_concurrency=1)], routing, redis=redis_client)
    healthy = r.app.book.provider("crashy")
    r.app.book._providers["crashy"] = _Crashing(after_first)
    try:
        for _ in range(3):
            if after_first:
                text, final = await r.chat("m")
                assert text == "partial " and final.error.code == "stream_interrupted"
            else:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await r.chat("m")
                md = dict(err.value.trailing_metadata() or ())
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE
                assert (md.get("ty-http-status"), md.get("ty-error-code")) == ("502", "upstream_unavailable")
        r.app.book._providers["crashy"] = healthy
        text, final = await r.chat("m")  # a leaked slot (max_concurrency 1) would make this a 503
        assert text.startswith("up0") and final.deployment == "crashy"
    finally:
        await r.stop()
        await up.stop()
