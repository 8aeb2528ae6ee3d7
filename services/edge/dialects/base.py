"""The interface every client dialect implements (see services/edge/relay.py for the flow)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2


@dataclass
class Parsed:
    """A validated request, ready for the router."""

    request: router_pb2.ChatRequest
    stream: bool
    include_usage: bool
    estimated_tokens: int
    """Prompt tokens plus max output tokens: what rate limits and budgets charge before the call (the relay
    sets the upper bound here before it charges anything)."""
    echo: bool = False
    """Legacy completions only: repeat the prompt before the answer."""
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers the dialect adds (e.g. a warning that hosted tools were dropped)."""


class Invalid(Exception):
    """The body is not acceptable: 400 with the field named."""

    def __init__(self, message: str, param: str | None = None, code: str = "invalid_value", status: int = 400) -> None:
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status


class StreamWriter(Protocol):
    def chunk(self, msg: router_pb2.ChatResponse) -> bytes: ...
    def finish(self, final: router_pb2.ChatFinal, include_usage: bool) -> bytes:
        """The clean end of a stream (usage if asked for, then the dialect's terminator)."""
    def fail(self, final: router_pb2.ChatFinal | None, error: dict) -> bytes:
        """The end of a stream that broke after its first byte: an error event, never a clean end."""


class Dialect(Protocol):
    name: str

    def parse(self, raw: bytes, request_id: str, caller: common_pb2.Caller) -> Parsed:
        """Raises Invalid."""

    def error(self, status: int, error: dict, headers: dict | None = None) -> web.Response:
        """An error response in this dialect's shape; `error` is OpenAI's inner error object."""

    def writer(self, parsed: Parsed, first: router_pb2.ChatResponse) -> StreamWriter: ...

    def body(self, parsed: Parsed, first: router_pb2.ChatResponse, messages: list[router_pb2.ChatResponse],
             final: router_pb2.ChatFinal) -> dict:
        """The assembled non-streaming answer."""


def estimate_tokens(req: router_pb2.ChatRequest) -> int:
    """A cheap estimate (about 4 characters a token), NOT a bound: dense text has far more tokens. The relay
    replaces it with the upper bound from services/common/prompt_tokens.py whenever a rate limit or a budget
    will charge the request; it stays only on calls nothing charges (the master key's plain calls)."""
    chars = sum(len(m.content) + sum(len(p.text) for p in m.parts) for m in req.messages)
    out = req.max_completion_tokens if req.HasField("max_completion_tokens") else (
        req.max_tokens if req.HasField("max_tokens") else 0)
    return chars // 4 + 4 * len(req.messages) + out
