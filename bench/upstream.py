"""A fast OpenAI-compatible upstream for the benchmark: a bare HTTP/1.1 protocol on uvloop.

It must never be the bottleneck, so it skips every framework: one asyncio Protocol per connection,
responses pre-encoded per model, keep-alive, and several processes sharing the port through
SO_REUSEPORT (the bench starts `workers` processes). Behaviour follows the model name:

  bench-stream-N        N content chunks (default 1), then the usage chunk (if asked) and [DONE]
  bench-stream-N-dMS    the same with MS milliseconds before each chunk after the first
A body with `"stream": false` gets one JSON completion of the same N tokens with usage.
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import re
import signal
import socket

import orjson
import uvloop

_MODEL = re.compile(r"bench-(?:stream-)?(\d+)(?:-d(\d+))?$")
_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\n%s\r\n"
_SSE_HEAD = _HEAD % (b"text/event-stream", b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n")
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 45\r\n\r\n" \
       b'{"error":{"message":"bad","type":"invalid"}}\n'


def _chunked(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


@functools.lru_cache(maxsize=256)
def plan(model: str) -> tuple[int, float]:
    """(number of chunks, seconds between chunks) for a model name."""
    m = _MODEL.match(model)
    return (max(1, int(m.group(1))), int(m.group(2) or 0) / 1000) if m else (1, 0.0)


@functools.lru_cache(maxsize=256)
def stream_parts(model: str, usage: bool) -> tuple[bytes, ...]:
    """Pre-encoded HTTP chunks: one per token, then usage + [DONE] + terminator as the last part."""
    n, _ = plan(model)
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": model}
    parts = []
    for i in range(n):
        delta = {"role": "assistant", "content": "tok "} if i == 0 else {"content": "tok "}
        choice = {"index": 0, "delta": delta, "finish_reason": "stop" if i == n - 1 else None}
        parts.append(_chunked(b"data: " + orjson.dumps({**head, "choices": [choice]}) + b"\n\n"))
    tail = b""
    if usage:
        u = {"prompt_tokens": 8, "completion_tokens": n, "total_tokens": 8 + n}
        tail += b"data: " + orjson.dumps({**head, "choices": [], "usage": u}) + b"\n\n"
    tail += b"data: [DONE]\n\n"
    parts.append(_chunked(tail) + b"0\r\n\r\n")
    return tuple(parts)


@functools.lru_cache(maxsize=256)
def json_response(model: str) -> bytes:
    n, _ = plan(model)
    body = orjson.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "tok " * n}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 8, "completion_tokens": n, "total_tokens": 8 + n}})
    return _HEAD % (b"application/json", b"Content-Length: %d\r\n" % len(body)) + body


class UpstreamProtocol(asyncio.Protocol):
    """One keep-alive connection; requests are answered in order (no pipelining across a paced stream)."""

    def __init__(self) -> None:
        self._buf = b""
        self._transport: asyncio.Transport | None = None
        self._busy: asyncio.Task | None = None

    def connection_made(self, transport) -> None:
        self._transport = transport

    def connection_lost(self, exc) -> None:
        if self._busy is not None:
            self._busy.cancel()  # the client went away mid-stream: stop, like a real upstream would

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if self._busy is None:
            self._serve()

    def _serve(self) -> None:
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self._buf[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self._buf) < end + 4 + length:
                return
            body, self._buf = self._buf[end + 4:end + 4 + length], self._buf[end + 4 + length:]
            if not self._answer(body):
                return

    def _answer(self, raw: bytes) -> bool:
        """Writes the answer; False when a paced stream took over the connection."""
        try:
            req = orjson.loads(raw)
            model = str(req.get("model", ""))
        except (orjson.JSONDecodeError, AttributeError):
            self._transport.write(_BAD)
            return True
        if not req.get("stream"):
            self._transport.write(json_response(model))
            return True
        usage = bool((req.get("stream_options") or {}).get("include_usage"))
        parts = stream_parts(model, usage)
        _, delay = plan(model)
        if not delay:
            self._transport.write(_SSE_HEAD + b"".join(parts))
            return True
        self._busy = asyncio.get_running_loop().create_task(self._paced(parts, delay))
        return False

    async def _paced(self, parts: tuple[bytes, ...], delay: float) -> None:
        self._transport.write(_SSE_HEAD + parts[0])
        for part in parts[1:-1]:
            await asyncio.sleep(delay)
            self._transport.write(part)
        self._transport.write(parts[-1])
        self._busy = None
        self._serve()


async def serve(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(UpstreamProtocol, sock=sock, backlog=4096)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    return sock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # Several of these processes may share one port (SO_REUSEPORT); the bench starts one per worker.
    uvloop.run(serve(bind(args.port)))


if __name__ == "__main__":
    main()
