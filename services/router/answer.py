"""Folds the messages of a stream into the one answer `Complete` returns, in linear time and bounded memory.

Why not `into.content += d.content` on the protobuf: a protobuf string is immutable, so every append
copies the whole answer so far, and the message's arena keeps each intermediate copy until the message
dies. A 12,000-token answer arriving a token at a time took the router to 609 MB that way. Here each
choice keeps its pieces in Python lists and the proto is built once, at the end; the bytes held are
counted as they arrive, and an answer past `max_bytes` ends the request with a clear 413 instead of
growing the process.
"""
from __future__ import annotations

import grpc
import orjson

from services.common.errors import GatewayError
from tokenyard.router.v1 import router_pb2


def answer_too_large(max_bytes: int) -> GatewayError:
    return GatewayError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"The answer is larger than the {max_bytes} bytes this gateway holds for a non-streamed request; "
        "ask with `stream: true` or lower `max_tokens`.",
        "invalid_request_error", "answer_too_large", 413)


class _Tool:
    __slots__ = ("index", "id", "type", "name", "arguments")

    def __init__(self, tc: router_pb2.ToolCallDelta) -> None:
        self.index, self.id, self.type, self.name = tc.index, tc.id, tc.type, tc.name
        self.arguments = [tc.arguments] if tc.arguments else []


class _Choice:
    __slots__ = ("index", "role", "content", "refusal", "tools", "finish_reason", "logprobs")

    def __init__(self, index: int) -> None:
        self.index, self.role, self.finish_reason = index, "", ""
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.tools: list[_Tool] = []
        self.logprobs: list | None = None

    def add(self, d: router_pb2.ChoiceDelta) -> int:
        """Takes one delta; returns the bytes it added."""
        size = len(d.content) + len(d.refusal) + len(d.logprobs_json)
        if d.role and not self.role:
            self.role = d.role
        if d.content:
            self.content.append(d.content)
        if d.refusal:
            self.refusal.append(d.refusal)
        for tc in d.tool_calls:
            size += len(tc.arguments) + len(tc.name) + len(tc.id)
            last = self.tools[-1] if self.tools else None
            if last is not None and last.index == tc.index and not tc.id:
                if tc.arguments:
                    last.arguments.append(tc.arguments)
            else:
                self.tools.append(_Tool(tc))
        if d.finish_reason:
            self.finish_reason = d.finish_reason
        if d.logprobs_json:
            if self.logprobs is None:
                self.logprobs = []
            self.logprobs.extend(orjson.loads(d.logprobs_json).get("content") or [])
        return size

    def build(self, into: router_pb2.ChoiceDelta) -> None:
        into.index, into.role, into.finish_reason = self.index, self.role, self.finish_reason
        into.content, into.refusal = "".join(self.content), "".join(self.refusal)
        for t in self.tools:
            into.tool_calls.add(index=t.index, id=t.id, type=t.type, name=t.name, arguments="".join(t.arguments))
        if self.logprobs is not None:
            into.logprobs_json = orjson.dumps({"content": self.logprobs}).decode()


class AnswerBuilder:
    """The single answer of a non-streamed request: header of the first message, deltas merged per
    choice in order, `final` from the last message that carries one."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._held = 0
        self._header: tuple[str, str, int] | None = None
        self._choices: dict[int, _Choice] = {}
        self._final: router_pb2.ChatFinal | None = None

    @property
    def held_bytes(self) -> int:
        return self._held

    def add(self, msg: router_pb2.ChatResponse) -> None:
        """Raises GatewayError (413) once the answer outgrows `max_bytes`."""
        if self._header is None and msg.id:
            self._header = (msg.id, msg.model, msg.created)
        for d in msg.deltas:
            choice = self._choices.get(d.index)
            if choice is None:
                choice = self._choices[d.index] = _Choice(d.index)
            self._held += choice.add(d)
        if self._held > self._max:
            raise answer_too_large(self._max)
        if msg.HasField("final"):
            self._final = msg.final

    @property
    def empty(self) -> bool:
        return self._header is None and not self._choices and self._final is None

    def build(self) -> router_pb2.ChatResponse:
        answer = router_pb2.ChatResponse()
        if self._header is not None:
            answer.id, answer.model, answer.created = self._header
        for choice in self._choices.values():
            choice.build(answer.deltas.add())
        if self._final is not None:
            answer.final.CopyFrom(self._final)
        return answer
