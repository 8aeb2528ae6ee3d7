"""A fake Anthropic Messages API (`POST /v1/messages`, streaming) on loopback, speaking the wire format
as Anthropic documents it: `event:`/`data:` SSE lines with message_start, content_block_start/delta/
stop (text_delta, input_json_delta), message_delta (stop_reason, usage), message_stop, ping, error.

It checks what a real server checks (x-api-key, anthropic-version, max_tokens, a first user turn,
alternating user/assistant turns with `system` turns allowed between them, as Anthropic accepts) and
records each request. `POST /v1/messages/count_tokens` answers a count derived from the body (`count_of`), recorded in `counted`, so a test can tell it from the router's estimate. Behaviour follows the model name:

  (with `thinking` on, a signed thinking block and a redacted_thinking block come first)
  claude-echo (default) | claude-tool | claude-max-tokens | claude-stop-seq | claude-overloaded (error event)
  | claude-http-CODE (HTTP error before the stream)
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import orjson
from aiohttp import web


@dataclass
class FakeAnthropicUpstream:
    api_key: str = "sk-ant-test"
    requests: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    counted: list[dict] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> "FakeAnthropicUpstream":
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        self.runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    @staticmethod
    def _error(status: int, kind: str, message: str) -> web.Response:
        return web.json_response({"type": "error", "error": {"type": kind, "message": message}}, status=status)

    def _invalid(self, request: web.Request, body: dict) -> web.Response | None:
        if request.headers.get("x-api-key") != self.api_key:
            return self._error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return self._error(400, "invalid_request_error", "anthropic-version header is required")
        if not isinstance(body.get("max_tokens"), int):
            return self._error(400, "invalid_request_error", "max_tokens: Field required")
        roles = [m.get("role") for m in body.get("messages", []) if m.get("role") != "system"]
        if not roles or roles[0] != "user" or any(r not in ("user", "assistant") for r in roles) \
                or any(a == b for a, b in zip(roles, roles[1:])):
            return self._error(400, "invalid_request_error", "messages: roles must alternate, starting with user")
        return None

    async def _count_tokens(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = orjson.loads(raw)
        self.counted.append(body)
        self.headers.append(dict(request.headers))
        if request.headers.get("x-api-key") != self.api_key:
            return self._error(401, "authentication_error", "invalid x-api-key")
        if "max_tokens" in body or "stream" in body:
            return self._error(400, "invalid_request_error", "max_tokens: Extra inputs are not permitted")
        return web.json_response({"input_tokens": self.count_of(body)})

    @staticmethod
    def count_of(body: dict) -> int:
        """This fake's "exact" count: distinguishable from any tokenizer's estimate."""
        return 1000 + len(orjson.dumps(body)) // 4

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        model = body.get("model", "")
        if model.startswith("claude-http-"):
            code = int(model.rsplit("-", 1)[1])
            return self._error(code, "overloaded_error" if code == 529 else "api_error", f"injected {code}")
        invalid = self._invalid(request, body)
        if invalid is not None:
            return invalid
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        async def event(kind: str, data: dict) -> None:
            await resp.write(f"event: {kind}\n".encode() + b"data: " + orjson.dumps({"type": kind, **data}) + b"\n\n")

        await event("message_start", {"message": {
            "id": "msg_fake01", "type": "message", "role": "assistant", "content": [], "model": model,
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 4,
                      "cache_creation_input_tokens": 2}}})
        await event("ping", {})
        if model == "claude-overloaded":
            await event("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})
            return resp
        first = await self._thinking(event) if (body.get("thinking") or {}).get("type") in ("enabled", "adaptive") else 0
        if model == "claude-tool":
            stop = await self._tool_use(event, body, first)
        else:
            await event("content_block_start", {"index": first, "content_block": {"type": "text", "text": ""}})
            for piece in ("Hello", " from", " Claude"):
                await event("content_block_delta", {"index": first, "delta": {"type": "text_delta", "text": piece}})
                await asyncio.sleep(0)
                if model == "claude-stall":  # output started, then nothing more: the idle timeout must fire
                    await asyncio.sleep(3600)
            await event("content_block_stop", {"index": first})
            stop = {"claude-max-tokens": "max_tokens", "claude-stop-seq": "stop_sequence"}.get(model, "end_turn")
        await event("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                                      "usage": {"output_tokens": 7}})
        await event("message_stop", {})
        return resp

    @staticmethod
    async def _thinking(event) -> int:
        """With `thinking` on: a signed thinking block and a redacted one, before the answer (2 blocks)."""
        await event("content_block_start", {"index": 0, "content_block": {"type": "thinking", "thinking": "",
                                                                          "signature": ""}})
        for piece in ("Let me ", "think."):
            await event("content_block_delta", {"index": 0, "delta": {"type": "thinking_delta", "thinking": piece}})
        await event("content_block_delta", {"index": 0, "delta": {"type": "signature_delta", "signature": "sig-fake-1"}})
        await event("content_block_stop", {"index": 0})
        await event("content_block_start", {"index": 1, "content_block": {"type": "redacted_thinking",
                                                                          "data": "opaque-fake"}})
        await event("content_block_stop", {"index": 1})
        return 2

    @staticmethod
    async def _tool_use(event, body: dict, first: int = 0) -> str:
        name = (body.get("tools") or [{"name": "get_weather"}])[0]["name"]
        await event("content_block_start", {"index": first, "content_block": {"type": "text", "text": ""}})
        await event("content_block_delta", {"index": first, "delta": {"type": "text_delta", "text": "Checking."}})
        await event("content_block_stop", {"index": first})
        await event("content_block_start", {"index": first + 1, "content_block": {
            "type": "tool_use", "id": "toolu_01", "name": name, "input": {}}})
        for part in ('{"location": ', '"Paris", "unit"', ': "celsius"}'):
            await event("content_block_delta", {"index": first + 1,
                                                "delta": {"type": "input_json_delta", "partial_json": part}})
        await event("content_block_stop", {"index": first + 1})
        return "tool_use"


class ThreadedAnthropicUpstream:
    """Runs a FakeAnthropicUpstream on its own event loop in a thread, for tests driven by sync clients."""

    def __init__(self, **kwargs) -> None:
        import threading

        self.upstream = FakeAnthropicUpstream(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> FakeAnthropicUpstream:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.upstream.start(), self._loop).result(10)
        return self.upstream

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.upstream.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
