"""Anthropic Messages adapter: `POST /v1/messages` with `stream: true`, its SSE events translated
into OpenAI `chat.completion.chunk` dicts, so the rest of the router sees one wire format.

| Anthropic event                                 | OpenAI chunk                                        |
|-------------------------------------------------|-----------------------------------------------------|
| message_start                                   | id, model; `delta.role = assistant`; input usage    |
| content_block_start (tool_use)                  | a tool call with id and name                        |
| content_block_delta text_delta / input_json_delta | `delta.content` / the tool call's `arguments`     |
| message_delta                                   | `finish_reason` (end_turn/stop_sequence->stop, max_tokens->length, tool_use->tool_calls); output usage |
| message_stop                                    | the usage chunk (`prompt_tokens` includes cache reads and writes; cache reads as `cached_tokens`) |
| error                                           | UpstreamError (overloaded 529, rate limit 429...)  |
| content_block_start/delta thinking, signature   | `delta.reasoning_content` / `reasoning_signature`   |
| content_block_start redacted_thinking           | `delta.redacted_reasoning` (its opaque data)        |
| ping, content_block_stop                        | nothing                                             |
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import orjson

from services.router.config import Deployment
from services.router.providers.anthropic_passthrough import count_body, native_body, native_headers
from services.router.providers.anthropic_wire import to_anthropic_body
from services.router.providers.http_pool import UpstreamPool, with_key
from services.router.providers.base import UpstreamError
from services.router.coalesce import has_output
from services.common.tracing import end_http_span
from services.router.providers.openai_chat import SSEDecoder, upstream_http_error
from tokenyard.router.v1 import router_pb2

API_VERSION = "2023-06-01"
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                "pause_turn": "stop", "refusal": "content_filter"}
_ERROR_STATUS = {"overloaded_error": 529, "rate_limit_error": 429, "api_error": 500, "timeout_error": 504,
                 "invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
                 "not_found_error": 404, "request_too_large": 413}
_MAX_ERROR_BODY = 64 * 1024


class _Translator:
    """State of one stream: ids, which content block is which tool call, the usage so far."""

    def __init__(self, created: int) -> None:
        self.base = {"id": "", "object": "chat.completion.chunk", "created": created, "model": ""}
        self.tools: dict[int, int] = {}
        self.usage = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
        self.done = False

    def chunk(self, delta: dict, finish: str | None = None) -> dict:
        return {**self.base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def _usage(self, u: dict) -> None:
        for ours, theirs in (("input", "input_tokens"), ("output", "output_tokens"),
                             ("cache_read", "cache_read_input_tokens"), ("cache_write", "cache_creation_input_tokens")):
            if u.get(theirs) is not None:
                self.usage[ours] = int(u[theirs])

    def event(self, ev: dict) -> dict | None:
        kind = ev.get("type")
        if kind == "message_start":
            msg = ev.get("message") or {}
            self.base["id"], self.base["model"] = msg.get("id", ""), msg.get("model", "")
            self._usage(msg.get("usage") or {})
            return self.chunk({"role": "assistant", "content": ""})
        if kind == "content_block_start":
            block = ev.get("content_block") or {}
            if block.get("type") == "tool_use":
                idx = self.tools[ev.get("index", 0)] = len(self.tools)
                return self.chunk({"tool_calls": [{"index": idx, "id": block.get("id", ""), "type": "function",
                                                   "function": {"name": block.get("name", ""), "arguments": ""}}]})
            if block.get("type") == "text" and block.get("text"):
                return self.chunk({"content": block["text"]})
            if block.get("type") == "thinking" and (block.get("thinking") or block.get("signature")):
                return self.chunk({"reasoning_content": block.get("thinking") or "",
                                   "reasoning_signature": block.get("signature") or ""})
            if block.get("type") == "redacted_thinking":
                return self.chunk({"redacted_reasoning": block.get("data") or ""})
            return None
        if kind == "content_block_delta":
            d = ev.get("delta") or {}
            if d.get("type") == "text_delta":
                return self.chunk({"content": d.get("text", "")})
            if d.get("type") == "thinking_delta":
                return self.chunk({"reasoning_content": d.get("thinking", "")})
            if d.get("type") == "signature_delta":
                return self.chunk({"reasoning_signature": d.get("signature", "")})
            if d.get("type") == "input_json_delta" and ev.get("index", 0) in self.tools:
                return self.chunk({"tool_calls": [{"index": self.tools[ev.get("index", 0)],
                                                   "function": {"arguments": d.get("partial_json", "")}}]})
            return None
        if kind == "message_delta":
            self._usage(ev.get("usage") or {})
            reason = (ev.get("delta") or {}).get("stop_reason")
            return self.chunk({}, STOP_REASONS.get(reason, "stop")) if reason else None
        if kind == "message_stop":
            self.done = True
            u = self.usage
            prompt = u["input"] + u["cache_read"] + u["cache_write"]
            return {**self.base, "choices": [], "usage": {
                "prompt_tokens": prompt, "completion_tokens": u["output"], "total_tokens": prompt + u["output"],
                "prompt_tokens_details": {"cached_tokens": u["cache_read"], "cache_write_tokens": u["cache_write"]}}}
        if kind == "error":
            err = ev.get("error") or {}
            status = _ERROR_STATUS.get(err.get("type", ""), 502)
            raise UpstreamError(status, f"upstream stream error: {err.get('message', 'unknown')}", kind="stream_error")
        return None  # ping, content_block_stop, thinking and signature deltas


class AnthropicMessagesProvider:
    def __init__(self, deployment: Deployment, clock=time.time, trace_configs: list | None = None,
                 socket_factory=None) -> None:
        self._pool = UpstreamPool(deployment, trace_configs, socket_factory)
        self._dep = deployment
        self._url = deployment.base_url + "/messages"
        self._headers = {"Content-Type": "application/json", "Accept": "text/event-stream",
                         "anthropic-version": API_VERSION}
        if deployment.api_key:
            self._headers["x-api-key"] = deployment.api_key
        self._clock = clock

    def _headers_for(self, api_key: str | None) -> dict[str, str]:
        return with_key(self._headers, "x-api-key", api_key)

    async def stream(self, request: router_pb2.ChatRequest, upstream_model: str, *,
                     api_key: str | None = None, whole: bool = False) -> AsyncIterator[list[dict]]:
        # Anthropic in, Anthropic out: the client's own body (anthropic_passthrough); else the translation.
        native = native_body(request, upstream_model)
        body = orjson.dumps(native if native is not None else to_anthropic_body(request, upstream_model))
        headers = {**self._headers_for(api_key), **native_headers(request)}
        try:
            resp = await self._pool.session().post(self._url, data=body, headers=headers)
        except asyncio.TimeoutError:
            raise UpstreamError(0, "timed out connecting to the upstream", kind="timeout") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(0, f"cannot reach the upstream: {type(exc).__name__}", kind="connection") from None
        try:
            if resp.status >= 400:
                raw = await resp.content.read(_MAX_ERROR_BODY)
                raise upstream_http_error(resp.status, raw, resp.headers)
            async for batch in self._read(resp):
                yield batch
        except asyncio.TimeoutError:
            raise UpstreamError(0, "the upstream timed out", kind="timeout") from None
        except (aiohttp.ClientError, orjson.JSONDecodeError) as exc:
            raise UpstreamError(0, f"the upstream stream broke: {type(exc).__name__}", kind="stream_broken") from None
        finally:
            resp.close()  # never return an unfinished body to the pool; the upstream sees the close
            end_http_span(resp)

    async def _read(self, resp: aiohttp.ClientResponse) -> AsyncIterator[list[dict]]:
        decoder, tr = SSEDecoder(), _Translator(int(self._clock()))
        chunks, idle = resp.content.iter_any(), None
        while True:
            try:
                # As in openai_chat: once output has started, each read gets the idle timeout.
                async with asyncio.timeout(idle):
                    data = await anext(chunks)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise UpstreamError(0, "the upstream stream stalled (idle timeout)", kind="timeout") from None
            batch = []
            for payload in decoder.feed(data):
                chunk = tr.event(orjson.loads(payload))
                if chunk is not None:
                    batch.append(chunk)
            if batch:
                if idle is None and has_output(batch):
                    idle = self._dep.timeouts.idle
                yield batch
            if tr.done:
                return
        raise UpstreamError(0, "the upstream stream ended before message_stop", kind="stream_broken")

    async def embed(self, request: router_pb2.EmbedRequest, upstream_model: str, *,
                    api_key: str | None = None) -> dict:
        raise UpstreamError(404, "Anthropic has no embeddings API")

    async def count_tokens(self, request: router_pb2.ChatRequest, upstream_model: str, *,
                           api_key: str | None = None) -> int | None:
        """Anthropic's own count (`/v1/messages/count_tokens`) of a native request; None for a translated one.
        Raises UpstreamError when the upstream refuses or cannot be reached."""
        body = count_body(request, upstream_model)
        if body is None:
            return None
        headers = {**self._headers_for(api_key), **native_headers(request), "Accept": "application/json"}
        try:
            async with self._pool.session().post(self._url + "/count_tokens", data=orjson.dumps(body),
                                                 headers=headers) as resp:
                raw = await resp.content.read(_MAX_ERROR_BODY)
                if resp.status >= 400:
                    raise upstream_http_error(resp.status, raw, resp.headers)
                count = orjson.loads(raw).get("input_tokens")
        except (asyncio.TimeoutError, aiohttp.ClientError, orjson.JSONDecodeError, AttributeError) as exc:
            raise UpstreamError(0, f"token count failed: {type(exc).__name__}", kind="connection") from None
        if not isinstance(count, int):
            raise UpstreamError(502, "the upstream's token count had no input_tokens")
        return count

    async def aclose(self) -> None:
        await self._pool.aclose()
