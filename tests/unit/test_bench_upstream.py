"""The bench's own tools: its upstream speaks the OpenAI wire format the router expects, its lean HTTP
client parses what the edge and the upstream send, and wrk's report is read correctly."""
from __future__ import annotations

import asyncio

import orjson
import pytest

from bench import wrk
from bench.httpclient import Client, post_request
from bench.upstream import UpstreamProtocol, plan


@pytest.fixture
async def upstream():
    server = await asyncio.get_running_loop().create_server(UpstreamProtocol, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def _request(port: int, model: str, stream: bool, usage: bool = False) -> bytes:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    if usage:
        body["stream_options"] = {"include_usage": True}
    return post_request("127.0.0.1", port, "/v1/chat/completions", orjson.dumps(body), "k")


def test_model_name_sets_chunks_and_pacing():
    assert plan("bench-stream-256-d5") == (256, 0.005)
    assert plan("bench-stream-20") == (20, 0.0)
    assert plan("something-else") == (1, 0.0)


async def test_streams_n_chunks_then_usage_and_done_on_one_keepalive_connection(upstream):
    client = Client("127.0.0.1", upstream)
    first = await client.call(_request(upstream, "bench-stream-20", True, usage=True))
    second = await client.call(_request(upstream, "bench-stream-3-d1", True))
    assert first.ok(stream=True) and second.ok(stream=True)
    assert first.events == 20 + 1 + 1  # 20 tokens, the usage chunk, [DONE]
    assert second.events == 3 + 1
    assert len(client._idle) == 1  # both requests reused one connection
    client.close()


async def test_non_streaming_answer_is_one_completion_with_usage(upstream):
    reader, writer = await asyncio.open_connection("127.0.0.1", upstream)
    writer.write(_request(upstream, "bench-stream-4", False))
    head = await reader.readuntil(b"\r\n\r\n")
    length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
    body = orjson.loads(await reader.readexactly(length))
    writer.close()
    assert body["choices"][0]["message"]["content"] == "tok " * 4
    assert body["usage"]["completion_tokens"] == 4


async def test_client_reports_a_cut_stream_as_failed(upstream):
    client = Client("127.0.0.1", upstream)
    call = asyncio.ensure_future(client.call(_request(upstream, "bench-stream-5-d5000", True)))
    while not client.active or not next(iter(client.active))._result.first:
        await asyncio.sleep(0.01)
    client.abort_active()
    result = await call
    assert not result.ok(stream=True)


def test_wrk_report_is_parsed():
    out = """Running 5s test @ http://127.0.0.1:1/v1/chat/completions
  Latency Distribution
     50%  812.00us
     99%    4.20ms
  7468 requests in 5.00s, 3.1MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:   1493.60
"""
    requests, errors, elapsed, p50, p99 = wrk.parse(out, 9.9)
    assert (requests, errors, elapsed) == (7468, 8, 5.0)
    assert p50 == pytest.approx(0.000812) and p99 == pytest.approx(0.0042)
