"""OpenAI chat-completions adapter: OpenAI itself and every server that speaks its wire format
(vLLM, Ollama `/v1`, llama.cpp server, Groq, LM Studio, MiniMax).

One pooled keep-alive aiohttp session per deployment; a request streams SSE and yields each batch of
chunks that one socket read completed.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import orjson

from services.common.tracing import end_http_span
from services.router.coalesce import has_output
from services.router.completions_wire import completion_as_chunk, serves_completions, text_chunk_as_chat, \
    to_completions_body
from services.router.errors import vendor_key
from services.router.server_tokens import ServerTokenizer
from services.router.config import Deployment
from services.router.providers.http_pool import UpstreamPool, with_key
from services.router.providers.base import UpstreamError
from services.router.providers.responses_passthrough import ResponsesEvents, native_body, speaks_responses
from services.router.wire import embed_body, to_openai_body
from tokenyard.router.v1 import router_pb2

_MAX_ERROR_BODY = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024
"""Largest SSE line or non-streamed JSON answer read from an upstream: a broken or hostile upstream
must not make the router buffer without bound (a 100 MB answer is refused, not held in memory)."""


def _retry_after(headers) -> float | None:
    raw = headers.get("retry-after-ms")
    if raw:
        try:
            return float(raw) / 1000
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw:
        try:
            return float(raw)
        except ValueError:
            return None
    return None


def error_detail(body: bytes, status: int) -> tuple[str, str]:
    """(message, the upstream's error type or code) of an error body: OpenAI's `{"error": {...}}`,
    vLLM's older top-level `{"object": "error", "message", "type"}`, or a bare `{"error": "text"}`."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict):
        err = doc.get("error", doc)
        if isinstance(err, dict) and err.get("message"):
            code = err.get("type") or err.get("code") or ""
            return str(err["message"]), str(code) if isinstance(code, str) else ""
        if isinstance(err, str) and err:
            return err, ""
    text = body.decode("utf-8", "replace").strip()
    return (text[:500] if text and not text.startswith("<") else f"upstream answered HTTP {status}"), ""


def upstream_http_error(status: int, body: bytes, headers) -> UpstreamError:
    message, code = error_detail(body, status)
    return UpstreamError(status, message, retry_after=_retry_after(headers), code=code)


_COMPLETIONS = (completion_as_chunk, text_chunk_as_chat)


class SSEDecoder:
    """Splits a byte stream into `data:` payloads; keeps partial lines between reads.

    A partial line is kept as a list of pieces joined once its newline arrives (no copy per read), and
    is bounded: an upstream that never ends a line cannot make the router buffer without limit."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._held = 0

    def feed(self, data: bytes) -> list[bytes]:
        if b"\n" not in data:
            self._parts.append(data)
            self._held += len(data)
            if self._held > _MAX_BODY:
                raise UpstreamError(0, "the upstream sent an SSE line too long to be a chunk", kind="stream_broken")
            return []
        if self._parts:
            self._parts.append(data)
            data = b"".join(self._parts)
        *lines, rest = data.split(b"\n")
        self._parts, self._held = ([rest], len(rest)) if rest else ([], 0)
        out = []
        for line in lines:
            if line.startswith(b"data:"):
                out.append(line[5:].strip())
        return out


class OpenAIChatProvider:
    def __init__(self, deployment: Deployment, trace_configs: list | None = None, socket_factory=None,
                 responses_native: bool | None = None) -> None:
        """`responses_native`: send Responses API requests natively (default: the OpenAI API itself)."""
        self._dep = deployment
        self._responses = speaks_responses(deployment) if responses_native is None else responses_native
        self._pool = UpstreamPool(deployment, trace_configs, socket_factory)
        self._base = deployment.base_url
        self._url = deployment.base_url + "/chat/completions"
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if deployment.api_key:
            headers["Authorization"] = f"Bearer {deployment.api_key}"
        self._headers = headers
        self._tokenizer = (ServerTokenizer(self._pool.session, deployment.base_url, vendor_key(deployment.vendor),
                                           {k: v for k, v in headers.items() if k != "Accept"})
                           if vendor_key(deployment.vendor) in ("llamacpp", "vllm") else None)

    async def count_tokens(self, text: str, upstream_model: str) -> int | None:
        """Tokens by the server's own tokenizer (self-hosted servers that have one), else None."""
        return None if self._tokenizer is None else await self._tokenizer.count(text, upstream_model)

    def _headers_for(self, api_key: str | None) -> dict[str, str]:
        return with_key(self._headers, "Authorization", f"Bearer {api_key}" if api_key else api_key)

    async def _post(self, url: str, body: bytes, api_key: str | None) -> aiohttp.ClientResponse:
        try:
            return await self._pool.session().post(url, data=body, headers=self._headers_for(api_key))
        except asyncio.TimeoutError:
            raise UpstreamError(0, "timed out connecting to the upstream", kind="timeout") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(0, f"cannot reach the upstream: {type(exc).__name__}", kind="connection") from None

    async def embed(self, request: router_pb2.EmbedRequest, upstream_model: str, *,
                    api_key: str | None = None) -> dict:
        resp = await self._post(self._base + "/embeddings", orjson.dumps(embed_body(request, upstream_model)), api_key)
        try:
            raw = await resp.read()
            if resp.status >= 400:
                raise upstream_http_error(resp.status, raw[:_MAX_ERROR_BODY], resp.headers)
            return orjson.loads(raw)
        except asyncio.TimeoutError:
            raise UpstreamError(0, "the upstream timed out", kind="timeout") from None
        except (aiohttp.ClientError, orjson.JSONDecodeError) as exc:
            raise UpstreamError(0, f"bad embeddings response: {type(exc).__name__}", kind="connection") from None
        finally:
            resp.release()
            end_http_span(resp)

    async def stream(self, request: router_pb2.ChatRequest, upstream_model: str, *,
                     api_key: str | None = None, whole: bool = False) -> AsyncIterator[list[dict]]:
        native = native_body(request, upstream_model) if self._responses else None
        if native is not None:
            # Responses in, Responses out (an OpenAI upstream): the client's own body, read as Responses events.
            async for batch in self._call(native, api_key, self._base + "/responses", native=True):
                yield batch
            return
        if serves_completions(request, self._dep.apis):
            # /v1/completions to a server that has it: the prompt verbatim, not rewritten as chat.
            body = to_completions_body(request, upstream_model, stream=not whole)
            async for batch in self._call(body, api_key, self._base + "/completions", _COMPLETIONS):
                yield batch
            return
        try:
            async for batch in self._call(to_openai_body(request, upstream_model, stream=not whole), api_key):
                yield batch
        except UpstreamError as err:
            if err.kind != "empty_stream" or vendor_key(self._dep.vendor) != "llamacpp":
                raise
            # llama-cpp-python answers a streamed request it refuses (a prompt over the context) with
            # 200 and an empty event stream, the reason only in its log. Asked without streaming, it
            # says why (400 context_length_exceeded), so a verdict is not mistaken for a broken server.
            # uvicorn drops its connections after that failed stream, so the re-ask may draw a pooled
            # connection that is closing: then it goes once more, on a fresh one (nothing was answered).
            body = to_openai_body(request, upstream_model, stream=False)
            for last in (False, True):
                yielded = False
                try:
                    async for batch in self._call(body, api_key):
                        yielded = True
                        yield batch
                    return
                except UpstreamError as again:
                    if last or yielded or again.kind != "connection" or "Disconnected" not in again.message \
                            and "ClientOSError" not in again.message:
                        raise

    async def _call(self, body: dict, api_key: str | None, url: str = "", wire: tuple = None,
                    native: bool = False) -> AsyncIterator[list[dict]]:
        """One POST; `wire`: (whole answer -> chunk, streamed chunk -> chat chunk) for a non-chat API;
        `native`: a Responses API body, whose event stream is read as Responses events."""
        whole_as_chunk, each = wire or (_completion_as_chunk, None)
        resp = await self._post(url or self._url, orjson.dumps(body), api_key)
        try:
            if resp.status >= 400:
                raw = await resp.content.read(_MAX_ERROR_BODY)
                raise upstream_http_error(resp.status, raw, resp.headers)
            if resp.content_type == "application/json":
                # Asked not to stream (exact usage: see wire.to_openai_body), or an upstream that ignored
                # `stream: true`: one completion becomes one chunk.
                yield [whole_as_chunk(orjson.loads(await _read_bounded(resp)))]
                return
            async for batch in (self._read_responses(resp) if native else self._read_sse(resp, each)):
                yield batch
        except asyncio.TimeoutError:
            raise UpstreamError(0, "the upstream timed out", kind="timeout") from None
        except (aiohttp.ClientError, orjson.JSONDecodeError) as exc:
            raise UpstreamError(0, f"the upstream stream broke: {type(exc).__name__}", kind="stream_broken") from None
        finally:
            # close(), not release(): an unfinished body must not go back to the pool, and the upstream
            # must see its connection closed when the client went away.
            resp.close()
            end_http_span(resp)

    async def _read_sse(self, resp: aiohttp.ClientResponse, each=None) -> AsyncIterator[list[dict]]:
        decoder = SSEDecoder()
        first, finished, idle = True, False, None
        chunks = resp.content.iter_any()
        while True:
            try:
                # The first-token timeout (chat.py) bounds the wait for output; after it, each read
                # gets the idle timeout, so a stream that stalls mid-way ends instead of hanging.
                async with asyncio.timeout(idle):
                    data = await anext(chunks)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise UpstreamError(0, "the upstream stream stalled (idle timeout)", kind="timeout") from None
            batch = []
            for payload in decoder.feed(data):
                if payload == b"[DONE]":
                    if batch:
                        yield batch
                    return
                chunk = orjson.loads(payload)
                if "error" in chunk and "choices" not in chunk:
                    err = chunk["error"]
                    msg = err.get("message") if isinstance(err, dict) else str(err)
                    code = (err.get("type") or "") if isinstance(err, dict) else ""
                    raise UpstreamError(502, f"upstream stream error: {msg}", kind="stream_error", code=str(code))
                batch.append(each(chunk) if each is not None else chunk)
                finished = finished or any(c.get("finish_reason") for c in chunk.get("choices") or ())
            if batch:
                first = False
                if idle is None and has_output(batch):
                    idle = self._dep.timeouts.idle
                yield batch
        if finished:
            return  # some servers end after the last chunk without [DONE]
        if first:
            raise UpstreamError(0, "the upstream closed the stream without data", kind="empty_stream")
        raise UpstreamError(0, "the upstream stream ended without [DONE]", kind="stream_broken")

    async def _read_responses(self, resp: aiohttp.ClientResponse) -> AsyncIterator[list[dict]]:
        """A native Responses stream as chat chunks (responses_passthrough.ResponsesEvents)."""
        decoder, events, idle = SSEDecoder(), ResponsesEvents(0), None
        chunks = resp.content.iter_any()
        while not events.done:
            try:
                async with asyncio.timeout(idle):
                    data = await anext(chunks)
            except StopAsyncIteration:
                raise UpstreamError(0, "the upstream stream ended before response.completed",
                                    kind="stream_broken") from None
            except TimeoutError:
                raise UpstreamError(0, "the upstream stream stalled (idle timeout)", kind="timeout") from None
            batch = [c for payload in decoder.feed(data) for c in events.event(orjson.loads(payload))]
            if batch:
                if idle is None and has_output(batch):
                    idle = self._dep.timeouts.idle
                yield batch

    async def aclose(self) -> None:
        await self._pool.aclose()


async def _read_bounded(resp: aiohttp.ClientResponse) -> bytes:
    parts, size = [], 0
    async for data in resp.content.iter_any():
        size += len(data)
        if size > _MAX_BODY:
            raise UpstreamError(0, "the upstream answer is too large", kind="stream_broken")
        parts.append(data)
    return b"".join(parts)


def _completion_as_chunk(body: dict) -> dict:
    choices = []
    for c in body.get("choices", []):
        msg = c.get("message") or {}
        delta = {k: msg[k] for k in ("role", "content", "tool_calls", "refusal") if msg.get(k) is not None}
        for i, call in enumerate(delta.get("tool_calls", [])):
            call.setdefault("index", i)
        choices.append({"index": c.get("index", 0), "delta": delta, "finish_reason": c.get("finish_reason")})
    return {"id": body.get("id", ""), "model": body.get("model", ""), "created": body.get("created", 0),
            "choices": choices, "usage": body.get("usage")}
