"""AsyncTokenyardClient against the real mesh: the same contract as the sync client, over AsyncOpenAI."""
from __future__ import annotations

import openai
import pytest

from tests.e2e.client_support import AsyncRecordingSleep, FakeClock, user
from tests.e2e.conftest import MASTER_KEY
from tests.e2e.gateway_process import GatewayProcess
from tests.fakes.fallback_server import ThreadedFallback
from tokenyard_client import AsyncTokenyardClient

MAP = {"*": "qwen2.5"}


@pytest.fixture(scope="module")
def fallback():
    runner = ThreadedFallback()
    server = runner.start()
    yield server
    runner.stop()


@pytest.fixture
def gateway(mesh):
    gw = GatewayProcess(mesh).start()
    yield gw
    gw.stop()


async def collect(stream) -> str:
    return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


async def test_async_streams_follow_the_gateway_down_and_back_up(gateway, fallback):
    fallback.requests.clear()
    clock, sleeps = FakeClock(), AsyncRecordingSleep()
    async with AsyncTokenyardClient(gateway.base_url, MASTER_KEY, fallback_base_url=fallback.base_url,
                                    fallback_model_map=MAP, clock=clock, sleep=sleeps) as client:
        stream = await client.chat.completions.create(model="fake-echo", messages=user("up here"), stream=True)
        assert (await collect(stream), stream.route) == ("up here", "gateway")
        assert (await client.get_status()).mode == "gateway"

        gateway.kill()
        stream = await client.chat.completions.create(model="fake-echo", messages=user("down"), stream=True)
        assert (await collect(stream), stream.route) == ("local qwen2.5: down", "fallback")
        assert sleeps.calls == [0.25, 0.5]
        status = await client.get_status()
        assert (status.gateway, status.fallback, status.mode) == (False, "up", "fallback")
        assert (status.fallback_usage.calls, status.fallback_usage.completion_tokens) == (1, 3)

        gateway.start()
        clock.advance(30)
        answer = await client.chat.completions.create(model="fake-echo", messages=user("back again"))
        assert answer.choices[0].message.content == "back again"
        assert (await client.get_status()).mode == "gateway"


async def test_async_4xx_and_a_mid_stream_break_reach_the_caller(gateway, fallback):
    fallback.requests.clear()
    sleeps = AsyncRecordingSleep()
    async with AsyncTokenyardClient(gateway.base_url, "ty-not-a-key-0123456789abcdef", sleep=sleeps,
                                    fallback_base_url=fallback.base_url) as bad_key:
        with pytest.raises(openai.AuthenticationError):
            await bad_key.embeddings.create(model="fake-embed", input="x")
    async with AsyncTokenyardClient(gateway.base_url, MASTER_KEY, sleep=sleeps,
                                    fallback_base_url=fallback.base_url) as client:
        stream = await client.chat.completions.create(model="fake-cut-after-3", messages=user("a b c d e"),
                                                      stream=True)
        got = []
        with pytest.raises(openai.APIError):
            async for chunk in stream:
                got += [chunk.choices[0].delta.content or ""] if chunk.choices else []
        assert "".join(got).split() == ["a", "b", "c"]
    assert fallback.requests == [] and sleeps.calls == []
