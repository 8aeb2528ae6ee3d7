"""Router messages -> OpenAI SSE chunks and assembled completions."""
from __future__ import annotations

import orjson

from services.edge.completions_format import Assembler, ChunkWriter
from services.router.coalesce import StreamState, has_output, to_response
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2


def _chunk(delta: dict, finish=None, index=0) -> dict:
    return {"id": "x", "model": "m", "created": 1, "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def test_coalescing_merges_content_and_tool_call_pieces():
    state = StreamState()
    batch = [_chunk({"role": "assistant", "content": ""}), _chunk({"content": "Hel"}), _chunk({"content": "lo"}),
             _chunk({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": "{"}}]}),
             _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}),
             _chunk({}, "tool_calls")]
    msg = to_response(batch, state)
    assert len(msg.deltas) == 1
    d = msg.deltas[0]
    assert (d.role, d.content, d.finish_reason) == ("assistant", "Hello", "tool_calls")
    assert [(t.id, t.name, t.arguments) for t in d.tool_calls] == [("c1", "f", "{}")]
    assert msg.id == "x" and state.header_sent


def test_usage_only_batch_sends_nothing_after_the_header():
    state = StreamState(header_sent=True)
    assert to_response([{"choices": [], "usage": {"prompt_tokens": 1}}], state) is None
    assert state.usage == {"prompt_tokens": 1}


def test_role_only_batch_is_not_output():
    assert not has_output([_chunk({"role": "assistant", "content": ""})])
    assert has_output([_chunk({"content": "a"})])
    assert has_output([_chunk({}, "stop")])


def _final(**kw) -> router_pb2.ChatFinal:
    return router_pb2.ChatFinal(usage=common_pb2.Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5),
                                deployment="d1", attempts=1, **kw)


def test_error_end_has_finish_reason_error_usage_and_error_event():
    final = _final(error=router_pb2.ChatError(type="upstream_error", code="stream_interrupted", message="broke"))
    raw = ChunkWriter("c", "m", 1).error_end(final, {0})
    first, second = raw.split(b"\n\n")[:2]
    chunk = orjson.loads(first.removeprefix(b"data: "))
    assert chunk["choices"][0]["finish_reason"] == "error" and chunk["usage"]["total_tokens"] == 5
    assert second.startswith(b"event: error\ndata: ")
    assert orjson.loads(second.split(b"data: ", 1)[1])["error"]["code"] == "stream_interrupted"


def test_assembler_builds_multi_choice_completion():
    a = Assembler()
    a.add(router_pb2.ChatResponse(deltas=[router_pb2.ChoiceDelta(index=0, role="assistant", content="a"),
                                          router_pb2.ChoiceDelta(index=1, role="assistant", content="b")]))
    a.add(router_pb2.ChatResponse(deltas=[router_pb2.ChoiceDelta(index=0, content="c", finish_reason="stop"),
                                          router_pb2.ChoiceDelta(index=1, finish_reason="length")]))
    out = a.completion("c1", "m", 1, _final())
    assert [(c["message"]["content"], c["finish_reason"]) for c in out["choices"]] == [("ac", "stop"), ("b", "length")]
    assert out["usage"]["total_tokens"] == 5 and out["object"] == "chat.completion"
