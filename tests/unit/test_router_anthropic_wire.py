"""OpenAI-shaped requests -> Anthropic Messages bodies, and Anthropic stream events -> OpenAI chunks."""
from __future__ import annotations

import pytest

from services.router.providers.anthropic_messages import _Translator
from services.router.providers.anthropic_wire import to_anthropic_body
from services.router.providers.base import UpstreamError
from tokenyard.router.v1 import router_pb2 as pb


def test_system_hoisted_images_and_consecutive_turns_merged():
    req = pb.ChatRequest(model="c", max_completion_tokens=50, parallel_tool_calls=False, tool_choice_json='{"type":"function","function":{"name":"f"}}',
                         tools=[pb.Tool(name="f", parameters_json='{"type":"object"}')], messages=[
        pb.Message(role="system", content="A"), pb.Message(role="developer", content="B"),
        pb.Message(role="user", parts=[pb.ContentPart(type="text", text="look"),
                                       pb.ContentPart(type="image_url", image_url="data:image/png;base64,AAAA")]),
        pb.Message(role="user", content="again")])
    body = to_anthropic_body(req, "claude-x")
    assert body["system"] == "A\n\nB" and body["max_tokens"] == 50 and len(body["messages"]) == 1
    content = body["messages"][0]["content"]
    assert content[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    assert content[2] == {"type": "text", "text": "again"}
    assert body["tool_choice"] == {"type": "tool", "name": "f", "disable_parallel_tool_use": True}


@pytest.mark.parametrize("reason,finish", [("end_turn", "stop"), ("max_tokens", "length"),
                                           ("tool_use", "tool_calls"), ("stop_sequence", "stop")])
def test_stop_reasons_map(reason, finish):
    tr = _Translator(0)
    chunk = tr.event({"type": "message_delta", "delta": {"stop_reason": reason}, "usage": {"output_tokens": 3}})
    assert chunk["choices"][0]["finish_reason"] == finish


def test_usage_counts_cache_reads_and_writes_as_prompt_tokens():
    tr = _Translator(0)
    tr.event({"type": "message_start", "message": {"id": "m", "model": "c", "usage": {
        "input_tokens": 10, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5, "output_tokens": 1}}})
    tr.event({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}})
    usage = tr.event({"type": "message_stop"})["usage"]
    assert usage == {"prompt_tokens": 115, "completion_tokens": 9, "total_tokens": 124,
                     "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 5}}


def test_error_events_raise_with_a_retryable_status():
    with pytest.raises(UpstreamError) as exc:
        _Translator(0).event({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert exc.value.status == 529
    assert _Translator(0).event({"type": "ping"}) is None
