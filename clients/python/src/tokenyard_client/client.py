"""`TokenyardClient`: the official OpenAI SDK pointed at a Tokenyard gateway, with a local fallback.

Each call goes to the gateway, retried with exponential backoff on connection errors, timeouts and
5xx; when the tries run out it goes to the fallback (Ollama's /v1 by default) with the model name
mapped, and the client stays there for the cooldown before probing the gateway's /healthz again.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, overload

import openai
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion

from tokenyard_client.config import OLLAMA_V1, ClientConfig
from tokenyard_client.errors import FallbackFailedError, is_gateway_failure, is_stream_failure_before_first_token
from tokenyard_client.failover import Failover, Route
from tokenyard_client.ledger import FallbackLedger, FallbackUsage
from tokenyard_client.plan import fallback_kwargs
from tokenyard_client.status import Status
from tokenyard_client.streams import ChunkStream, read_to_first_token


class _Exhausted(Exception):
    def __init__(self, error: BaseException) -> None:
        self.error = error


class TokenyardClient:
    """`chat.completions.create` and `embeddings.create` as in `openai.OpenAI`; `gateway` and `fallback`
    are the two underlying SDK clients, for anything else."""

    def __init__(self, base_url: str, api_key: str, *, fallback_base_url: str | None = OLLAMA_V1,
                 fallback_model_map: Mapping[str, str] | None = None, fallback_api_key: str = "ollama",
                 attempts: int = 3, backoff: float = 0.25, cooldown: float = 30.0, timeout: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 fallback_log_path: str | Path | None = None) -> None:
        self.config = ClientConfig(base_url=base_url, api_key=api_key, fallback_base_url=fallback_base_url,
                                   fallback_api_key=fallback_api_key, fallback_model_map=dict(fallback_model_map or {}),
                                   attempts=attempts, backoff=backoff, cooldown=cooldown, timeout=timeout, clock=clock)
        # The SDK's own retries are off: this client retries, and then knows when to give up on the gateway.
        self.gateway = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout)
        self.fallback = (openai.OpenAI(base_url=fallback_base_url, api_key=fallback_api_key, max_retries=0,
                                       timeout=timeout) if fallback_base_url else None)
        self._failover = Failover(cooldown, clock)
        self._ledger = FallbackLedger(fallback_log_path)
        self._sleep = sleep
        self.chat = _Chat(self)
        self.embeddings = _Embeddings(self)

    # -- status ------------------------------------------------------------------------------------
    def get_status(self) -> Status:
        fallback = "disabled" if self.fallback is None else ("up" if self._fallback_healthy() else "down")
        return Status(gateway=self._gateway_healthy(), fallback=fallback, mode=self._failover.mode,
                      fallback_usage=self._ledger.snapshot())

    def fallback_usage(self) -> FallbackUsage:
        return self._ledger.snapshot()

    def close(self) -> None:
        self.gateway.close()
        if self.fallback is not None:
            self.fallback.close()

    def __enter__(self) -> "TokenyardClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _gateway_healthy(self) -> bool:
        try:
            self.gateway.with_options(timeout=self.config.health_timeout).get(self.config.health_url, cast_to=str)
            return True
        except openai.APIError:
            return False

    def _fallback_healthy(self) -> bool:
        try:
            self.fallback.with_options(timeout=self.config.health_timeout).models.list()
            return True
        except openai.APIError:
            return False

    # -- routing -----------------------------------------------------------------------------------
    def _call(self, kwargs: dict[str, Any], gateway: Callable[[dict], Any],
              fallback: Callable[[dict], Any], retryable: Callable[[BaseException], bool]) -> Any:
        if self.fallback is None:  # nowhere else to go: the plain SDK with this client's retries
            try:
                return self._gateway_with_retries(gateway, kwargs, retryable)
            except _Exhausted as exc:
                raise exc.error from None
        route = self._failover.route()
        if route is Route.PROBE:
            route = Route.GATEWAY if self._gateway_healthy() else Route.FALLBACK
        if route is Route.GATEWAY:
            try:
                result = self._gateway_with_retries(gateway, kwargs, retryable)
            except _Exhausted as exc:
                self._failover.gateway_down()
                try:
                    return fallback(kwargs)
                except Exception as fb_error:
                    raise FallbackFailedError(exc.error, fb_error) from fb_error
            self._failover.gateway_up()
            return result
        try:
            return fallback(kwargs)
        except Exception as fb_error:
            if not is_gateway_failure(fb_error):
                raise FallbackFailedError(None, fb_error) from fb_error
            unreachable = fb_error
        # The fallback is unreachable too: the gateway may be back before the cooldown says so.
        try:
            result = self._gateway_with_retries(gateway, kwargs, retryable)
        except _Exhausted as exc:
            self._failover.gateway_down()
            raise FallbackFailedError(exc.error, unreachable) from unreachable
        except Exception:
            self._failover.gateway_up()  # a 4xx: refused, but alive
            raise
        self._failover.gateway_up()
        return result

    def _gateway_with_retries(self, gateway, kwargs, retryable):
        delays = self.config.backoff_delays()
        for attempt in range(self.config.attempts):
            try:
                return gateway(kwargs)
            except Exception as exc:
                if not retryable(exc):
                    raise  # a 4xx: the gateway is up and said no; never a reason to go around it
                last = exc
            if attempt < len(delays):
                self._sleep(delays[attempt])
        raise _Exhausted(last)


class _Completions:
    def __init__(self, client: TokenyardClient) -> None:
        self._c = client

    @overload
    def create(self, *, stream: Literal[True], **kwargs: Any) -> ChunkStream: ...
    @overload
    def create(self, *, stream: Literal[False] = ..., **kwargs: Any) -> ChatCompletion: ...

    def create(self, **kwargs: Any) -> Any:
        """As `openai.OpenAI().chat.completions.create`; a stream comes back as a `ChunkStream`."""
        c = self._c
        if not kwargs.get("stream"):
            return c._call(kwargs, lambda kw: c.gateway.chat.completions.create(**kw),
                           self._fallback_unary, is_gateway_failure)
        return c._call(kwargs, self._gateway_stream, self._fallback_stream,
                       is_stream_failure_before_first_token)

    def _gateway_stream(self, kwargs: dict) -> ChunkStream:
        stream = self._c.gateway.chat.completions.create(**kwargs)
        return ChunkStream(stream, read_to_first_token(stream), "gateway", None, False)

    def _fallback_unary(self, kwargs: dict) -> Any:
        local, _ = fallback_kwargs(self._c.config, kwargs, stream=False)
        answer = self._c.fallback.chat.completions.create(**local)
        self._c._ledger.record("chat", local["model"], answer.usage)
        return answer

    def _fallback_stream(self, kwargs: dict) -> ChunkStream:
        local, hide = fallback_kwargs(self._c.config, kwargs, stream=True)
        stream = self._c.fallback.chat.completions.create(**local)
        return ChunkStream(stream, [], "fallback",
                           lambda usage: self._c._ledger.record("chat", local["model"], usage), hide)


class _Chat:
    def __init__(self, client: TokenyardClient) -> None:
        self.completions = _Completions(client)


class _Embeddings:
    def __init__(self, client: TokenyardClient) -> None:
        self._c = client

    def create(self, **kwargs: Any) -> CreateEmbeddingResponse:
        c = self._c
        return c._call(kwargs, lambda kw: c.gateway.embeddings.create(**kw), self._fallback,
                       is_gateway_failure)

    def _fallback(self, kwargs: dict) -> Any:
        local, _ = fallback_kwargs(self._c.config, kwargs, stream=False)
        answer = self._c.fallback.embeddings.create(**local)
        self._c._ledger.record("embeddings", local["model"], answer.usage)
        return answer
