"""Streams that keep the gateway's mid-stream contract in the client.

Before the first token a broken stream is a failed call (retried, then sent to the fallback); so the
client reads ahead until a chunk carries a token. After it, the stream is the caller's: a break reaches
the caller as the SDK's error and is never continued on another route, which would splice two models'
answers into one.
"""
from __future__ import annotations

from typing import Any, AsyncIterator, Callable, Iterator

from openai.types.chat import ChatCompletionChunk

OnEnd = Callable[[Any], None]
"""Called once when a stream ends (or is closed), with the last usage seen (None if none)."""


def carries_token(chunk: ChatCompletionChunk) -> bool:
    """True once the caller would see output: text, a refusal, a tool call, or the final usage."""
    if chunk.usage is not None:
        return True
    for choice in chunk.choices:
        d = choice.delta
        if d is not None and (d.content or d.refusal or d.tool_calls or d.function_call):
            return True
    return False


def read_to_first_token(stream) -> list[ChatCompletionChunk]:
    """The chunks up to and including the first that carries a token (all of them if none does).
    `next()`, not `for`: a `for` over the SDK stream would leave a suspended generator behind."""
    head: list[ChatCompletionChunk] = []
    try:
        while not head or not carries_token(head[-1]):
            head.append(next(stream))
    except StopIteration:
        pass
    except BaseException:
        stream.close()
        raise
    return head


async def aread_to_first_token(stream) -> list[ChatCompletionChunk]:
    head: list[ChatCompletionChunk] = []
    try:
        while not head or not carries_token(head[-1]):
            head.append(await stream.__anext__())
    except StopAsyncIteration:
        pass
    except BaseException:
        await stream.close()
        raise
    return head


class _Common:
    """`route`: "gateway" or "fallback", so a caller can tell who answered. `hide_usage_chunk`: the client
    asked the fallback for usage on the caller's behalf (for its ledger), so that chunk is not passed on."""

    def __init__(self, stream, head: list, route: str, on_end: OnEnd | None, hide_usage_chunk: bool) -> None:
        self._stream = stream
        self._head = head
        self.route = route
        self._on_end = on_end
        self._hide = hide_usage_chunk
        self._usage = None
        self._ended = False

    @property
    def response(self):
        return self._stream.response

    def _keep(self, chunk: ChatCompletionChunk) -> bool:
        if chunk.usage is not None:
            self._usage = chunk.usage
        return not (self._hide and not chunk.choices)

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            if self._on_end is not None:
                self._on_end(self._usage)


class ChunkStream(_Common):
    """What `create(stream=True)` returns: iterate it like the SDK's `Stream`, close it or use `with`."""

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self

    def __next__(self) -> ChatCompletionChunk:
        while True:
            if self._head:
                chunk = self._head.pop(0)
            else:
                try:
                    chunk = next(self._stream)
                except BaseException:
                    self._end()
                    raise
            if self._keep(chunk):
                return chunk

    def close(self) -> None:
        self._stream.close()
        self._end()

    def __enter__(self) -> "ChunkStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncChunkStream(_Common):
    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        while True:
            if self._head:
                chunk = self._head.pop(0)
            else:
                try:
                    chunk = await self._stream.__anext__()
                except BaseException:
                    self._end()
                    raise
            if self._keep(chunk):
                return chunk

    async def close(self) -> None:
        await self._stream.close()
        self._end()

    async def __aenter__(self) -> "AsyncChunkStream":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
