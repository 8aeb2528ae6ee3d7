"""AnswerBuilder: the messages of a stream folded into the one answer `Complete` returns."""
from __future__ import annotations

import orjson

from services.router.answer import AnswerBuilder
from tokenyard.router.v1 import router_pb2 as pb


def _merge(*messages):
    builder = AnswerBuilder(1 << 20)
    for m in messages:
        builder.add(m)
    return builder.build()


def test_choices_tool_calls_and_logprobs_merge_in_order():
    head = pb.ChatResponse(id="c1", model="m", created=5, deltas=[
        pb.ChoiceDelta(index=0, role="assistant", content="Hel",
                       logprobs_json=orjson.dumps({"content": [{"token": "Hel"}]}).decode()),
        pb.ChoiceDelta(index=1, role="assistant", tool_calls=[pb.ToolCallDelta(index=0, id="call_1", name="f",
                                                                               arguments='{"a"')])])
    first = _merge(head, pb.ChatResponse(deltas=[
        pb.ChoiceDelta(index=1, tool_calls=[pb.ToolCallDelta(index=0, arguments=": 1}"),
                                            pb.ToolCallDelta(index=1, id="call_2", name="g", arguments="{}")],
                       finish_reason="tool_calls"),
        pb.ChoiceDelta(index=0, content="lo", finish_reason="stop",
                       logprobs_json=orjson.dumps({"content": [{"token": "lo"}]}).decode())]),
        pb.ChatResponse(final=pb.ChatFinal(deployment="d", attempts=2)))
    zero, one = first.deltas
    assert (first.id, first.model, first.created) == ("c1", "m", 5)
    assert (zero.content, zero.finish_reason, zero.role) == ("Hello", "stop", "assistant")
    assert [t["token"] for t in orjson.loads(zero.logprobs_json)["content"]] == ["Hel", "lo"]
    assert [(t.id, t.name, t.arguments) for t in one.tool_calls] == [("call_1", "f", '{"a": 1}'), ("call_2", "g", "{}")]
    assert one.finish_reason == "tool_calls"
    assert (first.final.deployment, first.final.attempts) == ("d", 2)


def test_a_choice_first_seen_later_is_added():
    answer = _merge(pb.ChatResponse(id="c", deltas=[pb.ChoiceDelta(index=0, content="a")]),
                    pb.ChatResponse(deltas=[pb.ChoiceDelta(index=2, content="b", finish_reason="length")]))
    assert [(d.index, d.content, d.finish_reason) for d in answer.deltas] == [(0, "a", ""), (2, "b", "length")]


class _Runner:
    def __init__(self, messages):
        self._messages = messages

    async def run(self, request, timeout, whole=False):
        for m in self._messages:
            yield m


class _Context:
    def time_remaining(self):
        return 5.0


async def test_complete_always_answers_with_final_and_flags_an_unfinished_stream():
    from services.router.servicer import RouterServicer

    cut = RouterServicer(_Runner([pb.ChatResponse(id="c", deltas=[pb.ChoiceDelta(index=0, content="par")])]),
                         None, None, None, None)
    answer = await cut.Complete(pb.ChatRequest(model="m"), _Context())
    assert answer.deltas[0].content == "par" and answer.final.error.code == "stream_interrupted"
    whole = RouterServicer(_Runner([pb.ChatResponse(id="c", deltas=[pb.ChoiceDelta(index=0, content="a")]),
                                    pb.ChatResponse(deltas=[pb.ChoiceDelta(index=0, content="b")]),
                                    pb.ChatResponse(final=pb.ChatFinal(deployment="d"))]), None, None, None, None)
    answer = await whole.Complete(pb.ChatRequest(model="m"), _Context())
    assert answer.deltas[0].content == "ab" and not answer.final.error.code and answer.final.deployment == "d"


def test_an_answer_past_the_cap_ends_with_413_answer_too_large():
    import pytest

    from services.common.errors import GatewayError

    builder = AnswerBuilder(max_bytes=10)
    builder.add(pb.ChatResponse(id="c", deltas=[pb.ChoiceDelta(index=0, content="12345")]))
    with pytest.raises(GatewayError) as err:
        builder.add(pb.ChatResponse(deltas=[pb.ChoiceDelta(index=0, content="678901")]))
    assert (err.value.http_status, err.value.code) == (413, "answer_too_large")
