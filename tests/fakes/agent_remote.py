"""A remote agent on loopback (an OpenAI-compatible chat endpoint a user hosts), for runtime tests.

`fail_with` makes the next calls answer that HTTP status; `calls` records the requests it got.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from aiohttp import web


@dataclass
class FakeRemoteAgent:
    token: str = ""
    fail_with: int = 0
    calls: list[dict] = field(default_factory=list)
    auth_seen: list[str] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.calls.append(body)
        self.auth_seen.append(request.headers.get("Authorization", ""))
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": {"message": "bad token"}}, status=401)
        if self.fail_with:
            return web.json_response({"error": {"message": "remote broke"}}, status=self.fail_with)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        base = {"id": "chatcmpl-remote", "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
        for delta, finish in (({"role": "assistant", "content": "remote "}, None), ({"content": "says hi"}, "stop")):
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            await resp.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
        usage = {**base, "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}}
        await resp.write(b"data: " + orjson.dumps(usage) + b"\n\ndata: [DONE]\n\n")
        return resp

    async def start(self) -> "FakeRemoteAgent":
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
