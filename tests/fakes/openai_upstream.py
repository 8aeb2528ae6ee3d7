"""A small OpenAI-compatible upstream on loopback that records what it received and when its
clients went away. Behaviour follows the model name, like the router's built-in fake:

  echo (default) | slow-MS | error-CODE | cut-after-N | no-usage | hang | long-N
(an `up-` prefix is ignored, so a router family `up-*` can forward client names unchanged)
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import orjson
from aiohttp import web


@dataclass
class Seen:
    """What one request looked like from the upstream's side."""

    model: str
    headers: dict
    body: dict
    disconnected: bool = False
    completed: bool = False


@dataclass
class FakeOpenAIUpstream:
    api_key: str = ""
    requests: list[Seen] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> "FakeOpenAIUpstream":
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self.runner = web.AppRunner(app, handler_cancellation=True)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        seen = Seen(body.get("model", ""), dict(request.headers), body)
        self.requests.append(seen)
        if self.api_key and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "bad key", "type": "invalid_request_error"}}, status=401)
        model = seen.model.removeprefix("up-")
        if model.startswith("error-"):
            code = int(model.split("-")[1])
            headers = {"Retry-After": "1"} if code == 429 else None
            return web.json_response({"error": {"message": f"fake {code}", "type": "server_error"}}, status=code,
                                     headers=headers)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        try:
            await self._stream(resp, seen)
            seen.completed = True
        except (asyncio.CancelledError, ConnectionResetError):
            seen.disconnected = True
            raise
        return resp

    async def _stream(self, resp: web.StreamResponse, seen: Seen) -> None:
        model = seen.model.removeprefix("up-")
        delay = int(model.split("-")[1]) / 1000 if model.startswith("slow-") else 0.0
        n = int(model.split("-")[1]) if model.startswith("long-") else 5
        cut = int(model.split("-")[2]) if model.startswith("cut-after-") else None
        head = {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

        async def send(obj) -> None:
            await resp.write(b"data: " + orjson.dumps(obj) + b"\n\n")

        await send({**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
        if model == "hang":
            await asyncio.sleep(3600)
        for i in range(n if cut is None else 10):
            if cut is not None and i == cut:
                resp.force_close()
                raise ConnectionResetError("cut")  # ends the response without [DONE]
            if delay:
                await asyncio.sleep(delay)
            await send({**head, "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}]})
        await send({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if model != "no-usage" and (seen.body.get("stream_options") or {}).get("include_usage"):
            await send({**head, "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": n,
                                                         "total_tokens": 7 + n}})
        await resp.write(b"data: [DONE]\n\n")


class ThreadedUpstream:
    """Runs a FakeOpenAIUpstream on its own event loop in a thread, for tests driven by sync clients."""

    def __init__(self, **kwargs) -> None:
        import threading

        self.upstream = FakeOpenAIUpstream(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> FakeOpenAIUpstream:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.upstream.start(), self._loop).result(10)
        return self.upstream

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.upstream.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
