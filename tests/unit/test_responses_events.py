"""Chat deltas -> Responses events, checked with the official `openai` SDK's own types: every event
parses as the SDK's ResponseStreamEvent, numbers run from 0, and the final response is the one the
non-streaming body returns."""
from __future__ import annotations

import itertools

import orjson
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from services.edge.dialects.responses_events import ResponseBuilder
from services.edge.dialects.responses_request import ToolBook
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

SKELETON = {"id": "resp_1", "object": "response", "model": "m", "error": None, "incomplete_details": None,
            "instructions": None, "metadata": {}, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "temperature": None, "top_p": None}
EVENTS = TypeAdapter(ResponseStreamEvent)


def builder(book: ToolBook | None = None) -> ResponseBuilder:
    counter = itertools.count()
    return ResponseBuilder(dict(SKELETON), book or ToolBook(), lambda prefix: f"{prefix}{next(counter)}", clock=lambda: 100.0)


def parse(raw: bytes) -> list:
    out = []
    for block in raw.decode().split("\n\n"):
        if block:
            name, data = block.split("\n", 1)
            event = EVENTS.validate_python(orjson.loads(data.removeprefix("data: ")))
            assert name == f"event: {event.type}"
            out.append(event)
    return out


def msg(*deltas: router_pb2.ChoiceDelta) -> router_pb2.ChatResponse:
    return router_pb2.ChatResponse(deltas=list(deltas))


FINAL = router_pb2.ChatFinal(usage=common_pb2.Usage(prompt_tokens=10, completion_tokens=3, total_tokens=13,
                                                    cached_tokens=4))


def test_text_stream_events_in_order_with_sequence_numbers():
    b = builder()
    raw = b.chunk(msg(router_pb2.ChoiceDelta(role="assistant", content="Hel"))) + \
        b.chunk(msg(router_pb2.ChoiceDelta(content="lo", finish_reason="stop"))) + b.finish(FINAL)
    events = parse(raw)
    assert [e.type for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(10))
    done = events[-1].response
    assert done.output_text == "Hello" and done.status == "completed"
    assert done.usage.input_tokens == 10 and done.usage.input_tokens_details.cached_tokens == 4
    assert Response.model_validate(b.response).output_text == "Hello"


def test_function_call_events_and_namespace():
    book = ToolBook(namespaces={"sleep": "clock\x00sleep"})
    b = builder(book)
    raw = b.chunk(msg(router_pb2.ChoiceDelta(content="ok"),
                      router_pb2.ChoiceDelta(tool_calls=[router_pb2.ToolCallDelta(index=0, id="call_1", name="sleep",
                                                                                  arguments='{"ms":')])))
    raw += b.chunk(msg(router_pb2.ChoiceDelta(tool_calls=[router_pb2.ToolCallDelta(index=0, arguments="5}")],
                                              finish_reason="tool_calls"))) + b.finish(FINAL)
    events = parse(raw)
    kinds = [e.type for e in events]
    assert kinds.index("response.output_item.done") < kinds.index("response.function_call_arguments.delta")
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert done.arguments == '{"ms":5}' and done.output_index == 1
    call = events[-1].response.output[1]
    assert (call.type, call.call_id, call.name, call.namespace, call.arguments) == (
        "function_call", "call_1", "sleep", "clock", '{"ms":5}')


def test_custom_tool_call_comes_back_as_custom_tool_call():
    b = builder(ToolBook(custom={"apply_patch"}))
    raw = b.chunk(msg(router_pb2.ChoiceDelta(tool_calls=[router_pb2.ToolCallDelta(
        index=0, id="call_9", name="apply_patch", arguments='{"input": "*** Begin Patch"}')]))) + b.finish(FINAL)
    events = parse(raw)
    assert "response.custom_tool_call_input.done" in [e.type for e in events]
    item = events[-1].response.output[0]
    assert (item.type, item.call_id, item.input) == ("custom_tool_call", "call_9", "*** Begin Patch")


def test_length_stop_is_incomplete():
    b = builder()
    events = parse(b.chunk(msg(router_pb2.ChoiceDelta(content="a", finish_reason="length"))) + b.finish(FINAL))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_failure_mid_stream_is_an_error_then_response_failed():
    b = builder()
    raw = b.chunk(msg(router_pb2.ChoiceDelta(content="a"))) + b.fail(None, {"code": "stream_interrupted",
                                                                          "message": "broke"})
    events = parse(raw)
    assert [e.type for e in events[-3:]] == ["response.output_item.done", "error", "response.failed"]
    assert events[-2].code == "stream_interrupted" and events[-2].message == "broke"
    assert events[-1].response.error.code == "server_error" and b.response["status"] == "failed"
