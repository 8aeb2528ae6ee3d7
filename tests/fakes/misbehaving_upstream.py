"""An OpenAI-compatible upstream that misbehaves on purpose, for the chaos suite. Behaviour follows the
model name (any `mb-` prefix is ignored, so a router family `mb-*` forwards client names unchanged):

  ok | slow-MS (a token every MS ms, 20 tokens) | invalid-json | html-200 | sse-garbage
  stall-first (headers, then nothing) | stall-mid (two tokens, then nothing)
  reset-mid (two tokens, then a TCP reset) | huge-line (100 MB `data:` line, no newline)
  huge-json (100 MB application/json body) | huge-sse (100 MB of SSE comment lines, then a valid stream)
  json-ctype-sse (SSE body labelled application/json) | plain-ctype-sse (SSE body labelled text/plain)

It counts what a leak would show: handlers still running and TCP connections still open, so a test can
assert that client disconnects reached the upstream.
"""
from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

import orjson
from aiohttp import web

HUGE = 100 * 1024 * 1024
_PIECE = 1024 * 1024


@dataclass
class MisbehavingUpstream:
    port: int = 0
    calls: int = 0
    active: int = 0
    """Handlers running now: an upstream call the gateway forgot to close shows here."""
    completed: int = 0
    cancelled: int = 0
    runner: web.AppRunner | None = None
    models: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def open_connections(self) -> int:
        server = self.runner.server if self.runner else None
        return len(server.connections) if server is not None else 0

    async def start(self) -> "MisbehavingUpstream":
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        self.runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, backlog=4096)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        model = str(body.get("model", "")).removeprefix("mb-")
        self.calls += 1
        self.active += 1
        self.models.append(model)
        try:
            resp = await self._answer(request, model, body)
            self.completed += 1
            return resp
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.active -= 1

    async def _answer(self, request: web.Request, model: str, body: dict) -> web.StreamResponse:
        if model == "html-200":
            return web.Response(text="<html><body><h1>502 Bad Gateway</h1></body></html>" * 20,
                                content_type="text/html")
        if model == "huge-json":
            return await self._huge(request, "application/json", b'{"choices": [{"message": {"content": "',
                                    b"x" * _PIECE)
        if model == "huge-line":
            return await self._huge(request, "text/event-stream", b'data: {"choices": [{"delta": {"content": "',
                                    b"x" * _PIECE)
        ctype = {"json-ctype-sse": "application/json", "plain-ctype-sse": "text/plain"}.get(model, "text/event-stream")
        resp = web.StreamResponse(headers={"Content-Type": ctype})
        await resp.prepare(request)
        head = {"id": "chatcmpl-mb", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

        async def send(delta: dict, finish: str | None = None) -> None:
            chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            await resp.write(b"data: " + orjson.dumps(chunk) + b"\n\n")

        await send({"role": "assistant", "content": ""})
        if model == "stall-first":
            await asyncio.sleep(3600)
        if model == "invalid-json":
            await resp.write(b'data: {"choices": [{"delta": {"content": "unterminated\n\n')
            return resp
        if model == "huge-sse":
            for _ in range(HUGE // _PIECE):
                await resp.write(b": " + b"k" * (_PIECE - 3) + b"\n")
        tokens, delay = 5, 0.0
        if model.startswith("slow-"):
            tokens, delay = 20, int(model.split("-")[1]) / 1000
        for i in range(tokens):
            if model == "sse-garbage":
                await resp.write(b"event: weird\nretry: x\n: comment\ngarbage without a colon\nid: 7\n\n")
            if i == 2 and model == "stall-mid":
                await asyncio.sleep(3600)
            if i == 2 and model == "reset-mid":
                _reset(request)
                return resp
            if delay:
                await asyncio.sleep(delay)
            await send({"content": f"t{i} "})
        await send({}, "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": 5 + tokens}
            await resp.write(b"data: " + orjson.dumps({**head, "choices": [], "usage": usage}) + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        return resp

    async def _huge(self, request: web.Request, ctype: str, start: bytes, piece: bytes) -> web.StreamResponse:
        """100 MB sent as it is generated (the fake itself stays small); the client must stop reading."""
        resp = web.StreamResponse(headers={"Content-Type": ctype})
        await resp.prepare(request)
        await resp.write(start)
        for _ in range(HUGE // len(piece)):
            await resp.write(piece)
        await resp.write(b'"}}]}\n\n')
        return resp


def _reset(request: web.Request) -> None:
    """Closes the connection with a TCP RST (SO_LINGER 0), the way a crashed proxy does."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if transport is not None:
        transport.abort()


class ThreadedMisbehaving:
    """Runs the upstream on its own loop in a thread, so sync tests and subprocess meshes can use it."""

    def __init__(self) -> None:
        self.upstream = MisbehavingUpstream()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> MisbehavingUpstream:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.upstream.start(), self._loop).result(10)
        return self.upstream

    def call(self, fn):
        """Reads the upstream's counters on its own loop (they are not thread-safe)."""

        async def read():
            return fn(self.upstream)

        return asyncio.run_coroutine_threadsafe(read(), self._loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.upstream.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
