"""Calling a remote agent: an OpenAI-compatible chat endpoint on the user's own server.

Timeout, retries with exponential backoff before the first byte (connection errors, timeouts, 429 and
5xx), and the SSE answer translated into the router's ChatResponse messages, so agent chat relays a
remote agent exactly like a model. Every call's outcome feeds the agent's health.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import orjson

from services.runtime.remote_health import RemoteHealthTracker
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2
from tokenyard.runtime.v1 import runtime_pb2

if TYPE_CHECKING:
    import aiohttp

_RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}


class LazyHttp:
    """The runtime's HTTP client session, opened by the first remote-agent call.

    aiohttp costs a runtime ~8 MB resident; one that never calls a remote agent never loads it."""

    def __init__(self, trace_configs: list | None = None, socket_factory=None) -> None:
        self._trace_configs = trace_configs or None
        self._socket_factory = socket_factory
        """The outbound policy's connect-time check: a remote agent's name that now resolves into the
        operator's network (DNS rebinding) is refused at the socket."""
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            import aiohttp

            connector = aiohttp.TCPConnector(socket_factory=self._socket_factory)
            self._session = aiohttp.ClientSession(connector=connector, trace_configs=self._trace_configs)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class RemoteAgentError(Exception):
    """The remote agent failed before answering; the message is safe to show a client."""


def _body(agent: runtime_pb2.Agent, req: router_pb2.ChatRequest) -> dict:
    body = {"model": agent.remote.model or agent.id, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": m.role, "content": m.content} for m in req.messages]}
    if req.HasField("temperature"):
        body["temperature"] = req.temperature
    if req.HasField("max_tokens"):
        body["max_tokens"] = req.max_tokens
    return body


def _message(chunk: dict) -> router_pb2.ChatResponse:
    msg = router_pb2.ChatResponse(id=chunk.get("id") or "", model=chunk.get("model") or "",
                                  created=int(chunk.get("created") or 0))
    for c in chunk.get("choices") or []:
        delta = c.get("delta") or c.get("message") or {}
        msg.deltas.add(index=int(c.get("index") or 0), role=delta.get("role") or "",
                       content=delta.get("content") or "", finish_reason=c.get("finish_reason") or "")
    return msg


def _usage(raw: dict | None) -> common_pb2.Usage:
    raw = raw or {}
    return common_pb2.Usage(prompt_tokens=int(raw.get("prompt_tokens") or 0),
                            completion_tokens=int(raw.get("completion_tokens") or 0),
                            total_tokens=int(raw.get("total_tokens") or 0))


class RemoteAgentClient:
    def __init__(self, http: LazyHttp, health: RemoteHealthTracker, sleep=asyncio.sleep) -> None:
        self._http = http
        self._health = health
        self._sleep = sleep

    async def _open(self, agent: runtime_pb2.Agent, token: str, body: dict) -> aiohttp.ClientResponse:
        http = self._http.session()
        import aiohttp  # loaded by the session above

        r = agent.remote
        url = f"{r.protocol or 'http'}://{r.host}:{r.port}{r.path or '/v1/chat/completions'}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=r.timeout_seconds or 30.0,
                                        sock_read=r.timeout_seconds or 30.0)
        last = "unreachable"
        for attempt in range(r.max_retries + 1):
            if attempt:
                await self._sleep(min(0.25 * 2 ** (attempt - 1), 5.0))
            try:
                resp = await http.post(url, data=orjson.dumps(body), headers=headers, timeout=timeout)
            except asyncio.TimeoutError:
                last = "timed out"
                continue
            except aiohttp.ClientError:
                last = "unreachable"
                continue
            if resp.status < 400:
                return resp
            resp.release()
            last = f"answered HTTP {resp.status}"
            if resp.status not in _RETRYABLE:
                break
        raise RemoteAgentError(f"remote agent {last}")

    async def stream(self, agent: runtime_pb2.Agent, token: str,
                     req: router_pb2.ChatRequest) -> AsyncIterator[router_pb2.ChatResponse]:
        """Raises RemoteAgentError before the first message; later failures end with `final.error`."""
        try:
            resp = await self._open(agent, token, _body(agent, req))
        except RemoteAgentError:
            await self._health.record(agent.id, ok=False)
            raise
        import aiohttp  # loaded by _open

        final = router_pb2.ChatFinal(deployment=f"remote:{agent.id}", attempts=1)
        ok = False
        try:
            if resp.content_type == "application/json":  # a remote that ignores `stream`
                doc = orjson.loads(await resp.read())
                yield _message(doc)
                final.usage.CopyFrom(_usage(doc.get("usage")))
            else:
                async for line in resp.content:
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        break
                    chunk = orjson.loads(data)
                    if chunk.get("usage"):
                        final.usage.CopyFrom(_usage(chunk["usage"]))
                    if chunk.get("choices"):
                        yield _message(chunk)
            ok = True
        except (aiohttp.ClientError, asyncio.TimeoutError, orjson.JSONDecodeError):
            final.error.CopyFrom(router_pb2.ChatError(type="upstream_error", code="stream_interrupted",
                                                      message="The remote agent's answer broke off."))
        finally:
            resp.release()
            await self._health.record(agent.id, ok=ok)
        yield router_pb2.ChatResponse(final=final)
