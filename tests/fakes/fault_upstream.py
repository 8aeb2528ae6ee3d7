"""A fault-injecting OpenAI-compatible upstream on loopback (chat completions + embeddings) whose
behaviour the test changes at runtime: fail with a status (and Retry-After), delay the first token,
require a key. It records every request with the Authorization header it carried, so tests can
assert where a key went.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field

import orjson
from aiohttp import web


@dataclass
class Call:
    path: str
    model: str
    authorization: str
    body: dict
    cancelled: bool = False


@dataclass
class FaultUpstream:
    name: str = "up"
    api_key: str = ""
    """When set, any other Authorization gets 401."""
    status: int = 0
    """When non-zero, every request fails with this HTTP status."""
    retry_after: float | None = None
    error: dict | None = None
    """The error object sent with `status` (default `{"message": "injected <status>", "type": "server_error"}`)."""
    ttft: float = 0.0
    """Seconds before the first token."""
    tokens: int = 3
    stream_usage: bool = True
    """False: like llama.cpp's servers, usage only in non-streamed answers, never in a stream."""
    usage: tuple[int, int] = (5, 0)
    """(prompt, completion) tokens reported; completion 0: `tokens`."""
    calls: list[Call] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def count(self, path: str = "/v1/chat/completions") -> int:
        return sum(1 for c in self.calls if c.path == path)

    async def start(self) -> "FaultUpstream":
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_post("/extras/tokenize/count", self._token_count)  # llama-cpp-python's tokenizer
        self.runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port or 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()
            self.runner = None

    async def _admit(self, request: web.Request, body: dict) -> web.Response | None:
        call = Call(request.path, body.get("model", ""), request.headers.get("Authorization", ""), body)
        self.calls.append(call)
        if self.api_key and call.authorization != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "Incorrect API key", "type": "invalid_request_error"}},
                                     status=401)
        if self.status:
            headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
            error = self.error or {"message": f"injected {self.status}", "type": "server_error"}
            return web.json_response({"error": error}, status=self.status, headers=headers)
        return None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        refused = await self._admit(request, body)
        if refused is not None:
            return refused
        prompt, completion = self.usage[0], self.usage[1] or self.tokens
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        if body.get("stream") is False:
            text = "".join(f"{self.name}{i} " for i in range(self.tokens))
            return web.json_response({"id": f"chatcmpl-{self.name}", "object": "chat.completion",
                                      "created": int(time.time()), "model": body.get("model", ""), "usage": usage,
                                      "choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"role": "assistant", "content": text}}]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        head = {"id": f"chatcmpl-{self.name}", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body.get("model", "")}

        async def send(obj) -> None:
            await resp.write(b"data: " + orjson.dumps(obj) + b"\n\n")

        try:
            await send({**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
            if self.ttft:
                await asyncio.sleep(self.ttft)
            for i in range(self.tokens):
                await send({**head, "choices": [{"index": 0, "delta": {"content": f"{self.name}{i} "}}]})
            await send({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            if self.stream_usage:
                await send({**head, "choices": [], "usage": usage})
            await resp.write(b"data: [DONE]\n\n")
        except asyncio.CancelledError:
            self.calls[-1].cancelled = True
            raise
        return resp

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        """The legacy completions API: continues the prompt (as `<prompt>|<name>-cont`)."""
        body = orjson.loads(await request.read())
        refused = await self._admit(request, body)
        if refused is not None:
            return refused
        text = f"{body['prompt']}|{self.name}-cont"
        usage = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
        head = {"id": f"cmpl-{self.name}", "object": "text_completion", "created": int(time.time()),
                "model": body.get("model", "")}
        if not body.get("stream"):
            return web.json_response({**head, "usage": usage, "choices": [
                {"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for piece, finish in ((text[:3], None), (text[3:], None), ("", "stop")):
            chunk = {**head, "choices": [{"index": 0, "text": piece, "logprobs": None, "finish_reason": finish}]}
            await resp.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
        await resp.write(b"data: " + orjson.dumps({**head, "choices": [], "usage": usage}) + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        return resp

    async def _token_count(self, request: web.Request) -> web.Response:
        """This fake's "tokenizer": one token per whitespace-separated word."""
        body = orjson.loads(await request.read())
        self.calls.append(Call(request.path, "", request.headers.get("Authorization", ""), body))
        return web.json_response({"count": len(body["input"].split())})

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        refused = await self._admit(request, body)
        if refused is not None:
            return refused
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dim = int(body.get("dimensions") or 4)
        data = []
        for i, item in enumerate(inputs):
            digest = hashlib.sha256(orjson.dumps(item)).digest()
            data.append({"object": "embedding", "index": i, "embedding": [b / 255 for b in digest[:dim]]})
        n = sum(len(x) if isinstance(x, list) else len(str(x).split()) for x in inputs)
        return web.json_response({"object": "list", "data": data, "model": body.get("model", ""),
                                  "usage": {"prompt_tokens": n, "total_tokens": n}})
