"""`AsyncTokenyardClient`: `TokenyardClient` over `openai.AsyncOpenAI`, with the same rules (failover.py,
errors.py, plan.py); only the waiting differs."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Literal, Mapping, overload

import openai
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion

from tokenyard_client.config import OLLAMA_V1, ClientConfig
from tokenyard_client.errors import FallbackFailedError, is_gateway_failure, is_stream_failure_before_first_token
from tokenyard_client.failover import Failover, Route
from tokenyard_client.ledger import FallbackLedger, FallbackUsage
from tokenyard_client.plan import fallback_kwargs
from tokenyard_client.status import Status
from tokenyard_client.streams import AsyncChunkStream, aread_to_first_token


class _Exhausted(Exception):
    def __init__(self, error: BaseException) -> None:
        self.error = error


class AsyncTokenyardClient:
    def __init__(self, base_url: str, api_key: str, *, fallback_base_url: str | None = OLLAMA_V1,
                 fallback_model_map: Mapping[str, str] | None = None, fallback_api_key: str = "ollama",
                 attempts: int = 3, backoff: float = 0.25, cooldown: float = 30.0, timeout: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 fallback_log_path: str | Path | None = None) -> None:
        self.config = ClientConfig(base_url=base_url, api_key=api_key, fallback_base_url=fallback_base_url,
                                   fallback_api_key=fallback_api_key, fallback_model_map=dict(fallback_model_map or {}),
                                   attempts=attempts, backoff=backoff, cooldown=cooldown, timeout=timeout, clock=clock)
        self.gateway = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout)
        self.fallback = (openai.AsyncOpenAI(base_url=fallback_base_url, api_key=fallback_api_key, max_retries=0,
                                            timeout=timeout) if fallback_base_url else None)
        self._failover = Failover(cooldown, clock)
        self._ledger = FallbackLedger(fallback_log_path)
        self._sleep = sleep
        self.chat = _Chat(self)
        self.embeddings = _Embeddings(self)

    async def get_status(self) -> Status:
        if self.fallback is None:
            gateway, fallback = await self._gateway_healthy(), "disabled"
        else:
            gateway, up = await asyncio.gather(self._gateway_healthy(), self._fallback_healthy())
            fallback = "up" if up else "down"
        return Status(gateway=gateway, fallback=fallback, mode=self._failover.mode,
                      fallback_usage=self._ledger.snapshot())

    def fallback_usage(self) -> FallbackUsage:
        return self._ledger.snapshot()

    async def close(self) -> None:
        await self.gateway.close()
        if self.fallback is not None:
            await self.fallback.close()

    async def __aenter__(self) -> "AsyncTokenyardClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def _gateway_healthy(self) -> bool:
        try:
            await self.gateway.with_options(timeout=self.config.health_timeout).get(self.config.health_url,
                                                                                   cast_to=str)
            return True
        except openai.APIError:
            return False

    async def _fallback_healthy(self) -> bool:
        try:
            await self.fallback.with_options(timeout=self.config.health_timeout).models.list()
            return True
        except openai.APIError:
            return False

    async def _call(self, kwargs: dict[str, Any], gateway, fallback,
                    retryable: Callable[[BaseException], bool]) -> Any:
        if self.fallback is None:
            try:
                return await self._gateway_with_retries(gateway, kwargs, retryable)
            except _Exhausted as exc:
                raise exc.error from None
        route = self._failover.route()
        if route is Route.PROBE:
            route = Route.GATEWAY if await self._gateway_healthy() else Route.FALLBACK
        if route is Route.GATEWAY:
            try:
                result = await self._gateway_with_retries(gateway, kwargs, retryable)
            except _Exhausted as exc:
                self._failover.gateway_down()
                try:
                    return await fallback(kwargs)
                except Exception as fb_error:
                    raise FallbackFailedError(exc.error, fb_error) from fb_error
            self._failover.gateway_up()
            return result
        try:
            return await fallback(kwargs)
        except Exception as fb_error:
            if not is_gateway_failure(fb_error):
                raise FallbackFailedError(None, fb_error) from fb_error
            unreachable = fb_error
        try:
            result = await self._gateway_with_retries(gateway, kwargs, retryable)
        except _Exhausted as exc:
            self._failover.gateway_down()
            raise FallbackFailedError(exc.error, unreachable) from unreachable
        except Exception:
            self._failover.gateway_up()  # a 4xx: refused, but alive
            raise
        self._failover.gateway_up()
        return result

    async def _gateway_with_retries(self, gateway, kwargs, retryable):
        delays = self.config.backoff_delays()
        for attempt in range(self.config.attempts):
            try:
                return await gateway(kwargs)
            except Exception as exc:
                if not retryable(exc):
                    raise
                last = exc
            if attempt < len(delays):
                await self._sleep(delays[attempt])
        raise _Exhausted(last)


class _Completions:
    def __init__(self, client: AsyncTokenyardClient) -> None:
        self._c = client

    @overload
    async def create(self, *, stream: Literal[True], **kwargs: Any) -> AsyncChunkStream: ...
    @overload
    async def create(self, *, stream: Literal[False] = ..., **kwargs: Any) -> ChatCompletion: ...

    async def create(self, **kwargs: Any) -> Any:
        c = self._c
        if not kwargs.get("stream"):
            return await c._call(kwargs, lambda kw: c.gateway.chat.completions.create(**kw), self._fallback_unary,
                                 is_gateway_failure)
        return await c._call(kwargs, self._gateway_stream, self._fallback_stream,
                             is_stream_failure_before_first_token)

    async def _gateway_stream(self, kwargs: dict) -> AsyncChunkStream:
        stream = await self._c.gateway.chat.completions.create(**kwargs)
        return AsyncChunkStream(stream, await aread_to_first_token(stream), "gateway", None, False)

    async def _fallback_unary(self, kwargs: dict) -> Any:
        local, _ = fallback_kwargs(self._c.config, kwargs, stream=False)
        answer = await self._c.fallback.chat.completions.create(**local)
        self._c._ledger.record("chat", local["model"], answer.usage)
        return answer

    async def _fallback_stream(self, kwargs: dict) -> AsyncChunkStream:
        local, hide = fallback_kwargs(self._c.config, kwargs, stream=True)
        stream = await self._c.fallback.chat.completions.create(**local)
        return AsyncChunkStream(stream, [], "fallback",
                                lambda usage: self._c._ledger.record("chat", local["model"], usage), hide)


class _Chat:
    def __init__(self, client: AsyncTokenyardClient) -> None:
        self.completions = _Completions(client)


class _Embeddings:
    def __init__(self, client: AsyncTokenyardClient) -> None:
        self._c = client

    async def create(self, **kwargs: Any) -> CreateEmbeddingResponse:
        c = self._c
        return await c._call(kwargs, lambda kw: c.gateway.embeddings.create(**kw), self._fallback,
                             is_gateway_failure)

    async def _fallback(self, kwargs: dict) -> Any:
        local, _ = fallback_kwargs(self._c.config, kwargs, stream=False)
        answer = await self._c.fallback.embeddings.create(**local)
        self._c._ledger.record("embeddings", local["model"], answer.usage)
        return answer
