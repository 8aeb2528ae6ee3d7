"""Router deltas -> Anthropic content blocks, in order: thinking (signed), redacted thinking, text and
tool calls each in their own block, streamed and assembled alike; and the router's coalescing keeps
that order when one socket read carries several blocks."""
from __future__ import annotations

import orjson

from services.edge.dialects.anthropic_events import AnthropicWriter, assemble, anthropic_usage
from services.router.answer import AnswerBuilder
from services.router.coalesce import StreamState, to_response
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

FINAL = router_pb2.ChatFinal(usage=common_pb2.Usage(prompt_tokens=120, completion_tokens=9, cached_tokens=100,
                                                    cache_write_tokens=5))


def chunk(delta: dict, finish: str | None = None) -> dict:
    return {"id": "x", "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


# One upstream read with interleaved thinking: think, sign, call a tool, think again, sign, call another.
INTERLEAVED = [chunk({"reasoning_content": "first "}), chunk({"reasoning_content": "thought"}),
               chunk({"reasoning_signature": "sig-1"}),
               chunk({"tool_calls": [{"index": 0, "id": "t1", "function": {"name": "a", "arguments": "{}"}}]}),
               chunk({"reasoning_content": "second"}), chunk({"reasoning_signature": "sig-2"}),
               chunk({"redacted_reasoning": "opaque"}),
               chunk({"tool_calls": [{"index": 1, "id": "t2", "function": {"name": "b", "arguments": '{"k":1}'}}]},
                     "tool_calls")]
EXPECTED = [{"type": "thinking", "thinking": "first thought", "signature": "sig-1"},
            {"type": "tool_use", "id": "t1", "name": "a", "input": {}},
            {"type": "thinking", "thinking": "second", "signature": "sig-2"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "tool_use", "id": "t2", "name": "b", "input": {"k": 1}}]


def test_coalesced_batch_keeps_block_order_in_the_assembled_message():
    resp = to_response(INTERLEAVED, StreamState())
    body = assemble("msg_1", "m", [resp], FINAL)
    assert body["content"] == EXPECTED and body["stop_reason"] == "tool_use"


def test_complete_merging_keeps_block_order():
    answer = AnswerBuilder(10**6)
    state = StreamState()
    for c in INTERLEAVED:  # one chunk per streamed message, merged as Complete does
        answer.add(to_response([c], state) or router_pb2.ChatResponse())
    assert assemble("msg_1", "m", [answer.build()], FINAL)["content"] == EXPECTED


def test_stream_events_rebuild_the_same_blocks():
    w = AnthropicWriter("msg_1", "m")
    raw = w.chunk(to_response(INTERLEAVED, StreamState())) + w.finish(FINAL, True)
    blocks: dict[int, dict] = {}
    for part in raw.decode().split("\n\n"):
        if not part:
            continue
        ev = orjson.loads(part.split("\ndata: ", 1)[1])
        if ev["type"] == "content_block_start":
            blocks[ev["index"]] = dict(ev["content_block"], _json="")
        elif ev["type"] == "content_block_delta":
            d, b = ev["delta"], blocks[ev["index"]]
            key = {"thinking_delta": "thinking", "signature_delta": "signature", "text_delta": "text"}.get(d["type"])
            if key:
                b[key] += d[key]
            else:
                b["_json"] += d["partial_json"]
    rebuilt = []
    for _, b in sorted(blocks.items()):
        raw_json = b.pop("_json")
        if b["type"] == "tool_use":
            b["input"] = orjson.loads(raw_json)
        rebuilt.append(b)
    assert rebuilt == EXPECTED


def test_usage_splits_cache_reads_and_writes_from_input():
    assert anthropic_usage(FINAL.usage) == {"input_tokens": 15, "output_tokens": 9, "cache_creation_input_tokens": 5,
                                            "cache_read_input_tokens": 100}


def test_a_signature_in_two_pieces_stays_on_its_block():
    state = StreamState()
    first = to_response([chunk({"reasoning_content": "t"}), chunk({"reasoning_signature": "sig-"})], state)
    second = to_response([chunk({"reasoning_signature": "1"}), chunk({"content": "answer"}, "stop")], state)
    assert assemble("m", "m", [first, second], FINAL)["content"] == [
        {"type": "thinking", "thinking": "t", "signature": "sig-1"}, {"type": "text", "text": "answer"}]


def test_a_signature_then_redacted_thinking_in_one_read_stay_two_blocks():
    state = StreamState()
    first = to_response([chunk({"reasoning_content": "t"})], state)
    second = to_response([chunk({"reasoning_signature": "sig"}), chunk({"redacted_reasoning": "opaque"}),
                          chunk({"content": "answer"}, "stop")], state)
    expected = [{"type": "thinking", "thinking": "t", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"}, {"type": "text", "text": "answer"}]
    assert assemble("m", "m", [first, second], FINAL)["content"] == expected
    answer = AnswerBuilder(10**6)
    answer.add(first)
    answer.add(second)
    assert assemble("m", "m", [answer.build()], FINAL)["content"] == expected
