"""The provider interface and the error every adapter raises.

Lifecycle: a provider is built once per deployment when the router starts (it owns that upstream's
pooled connections), `stream()` is called once per attempt, and `aclose()` once at shutdown.

Every adapter yields OpenAI `chat.completion.chunk` dicts, whatever its upstream speaks, in batches:
each batch holds all the chunks that were already read, so the router can send them as one gRPC
message without ever waiting to fill one.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from tokenyard.router.v1 import router_pb2


class UpstreamError(Exception):
    """An upstream call failed. `status` is the HTTP status, or 0 for connection errors and timeouts."""

    def __init__(self, status: int, message: str, *, kind: str = "", retry_after: float | None = None,
                 code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or ("http_%d" % status if status else "connection")
        self.retry_after = retry_after
        self.code = code
        """The upstream's own error `type`/`code` (`exceed_context_size_error`, `BadRequestError`...):
        the router's error table reads it with the message to tell a verdict on the request from a fault."""


class Provider(Protocol):
    async def stream(self, request: router_pb2.ChatRequest, upstream_model: str, *,
                     api_key: str | None = None, whole: bool = False) -> AsyncIterator[list[dict]]:
        """Yields batches of chunk dicts; raises UpstreamError. Cancelling it closes the upstream request.

        `whole`: the client asked for one answer; an adapter whose upstream reports exact usage only
        in non-streamed answers asks for one (and yields it as one batch). Others may ignore it.

        `api_key` replaces the deployment's own key for this call only (BYOK); credentials are kept
        apart from the wire format, so the same pooled connections serve every key.
        """
        ...

    async def embed(self, request: router_pb2.EmbedRequest, upstream_model: str, *,
                    api_key: str | None = None) -> dict:
        """One embeddings call; returns an OpenAI embeddings response body
        (`{"data": [{"index", "embedding": [floats]}], "model", "usage": {"prompt_tokens", "total_tokens"}}`).
        Raises UpstreamError; adapters whose upstream has no embeddings raise it with status 404."""
        ...

    async def aclose(self) -> None:
        """Closes pooled connections."""
        ...
