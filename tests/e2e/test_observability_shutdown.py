"""Graceful shutdown as a deploy does it: SIGTERM to the edge and the router while 20 streams are open.

Every stream must finish completely (all tokens, a clean `stop`), new connections must be refused
(the edge stops taking work), and both processes must exit 0 within the grace period.
"""
from __future__ import annotations

import asyncio
import secrets
import signal
import socket
import time

import pytest
from openai import AsyncOpenAI

from services.launcher.mesh import Mesh
from tests.e2e.conftest import config_with_fake_family

MASTER_KEY = "ty-test-" + secrets.token_hex(16)
WORDS = [f"w{i}" for i in range(25)]


@pytest.fixture
def mesh(tmp_path, redis_server):
    m = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER_KEY, "REDIS_URL": redis_server.url,
                  "TOKENYARD_CONFIG": config_with_fake_family(tmp_path / "tokenyard.yaml"),
                  "TOKENYARD_SHUTDOWN_GRACE": "20"}, data_dir=tmp_path / "data", log_dir=tmp_path / "logs")
    m.start()
    yield m
    m.stop()


def _refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


async def _stream(client: AsyncOpenAI, started: asyncio.Event, counter: list[int]) -> tuple[str, str | None]:
    stream = await client.chat.completions.create(
        model="fake-slow-80", messages=[{"role": "user", "content": " ".join(WORDS)}], stream=True)
    text, finish = [], None
    async for chunk in stream:
        if chunk.choices:
            text.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
            if len(text) == 2:
                counter[0] += 1
                if counter[0] == 20:
                    started.set()
    return "".join(text), finish


def test_sigterm_during_20_open_streams_lets_them_finish_and_exits_0(mesh):
    async def run() -> list[tuple[str, str | None]]:
        started, counter = asyncio.Event(), [0]
        async with AsyncOpenAI(base_url=f"http://127.0.0.1:{mesh.http_port}/v1", api_key=MASTER_KEY,
                               max_retries=0, timeout=30) as client:
            tasks = [asyncio.create_task(_stream(client, started, counter)) for _ in range(20)]
            await asyncio.wait_for(started.wait(), 20)  # all 20 are mid-stream
            mesh.procs["edge"].send_signal(signal.SIGTERM)
            mesh.procs["router"].send_signal(signal.SIGTERM)
            t0 = time.monotonic()
            while not await asyncio.to_thread(_refuses_connections, mesh.http_port):
                assert time.monotonic() - t0 < 5, "the edge still accepts connections after SIGTERM"
                await asyncio.sleep(0.05)
            assert not all(t.done() for t in tasks)  # the streams were still open when new work was refused
            return await asyncio.gather(*tasks)

    results = asyncio.run(run())
    assert len(results) == 20
    for text, finish in results:
        assert text == " ".join(WORDS)
        assert finish == "stop"
    assert mesh.procs["edge"].wait(25) == 0
    assert mesh.procs["router"].wait(25) == 0
