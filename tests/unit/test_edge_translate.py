"""OpenAI request JSON -> router proto: every field a client sends arrives, nothing is dropped."""
from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from services.edge.schemas import ChatCompletionRequest
from services.edge.translate import describe, to_chat_request
from services.router.wire import to_openai_body
from tokenyard.common.v1 import common_pb2

FULL = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "image_url", "image_url": {"url": "https://x/img.png", "detail": "low"}},
                                     {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}]},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d", "strict": True,
                                                "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}],
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}}},
    "temperature": 0.5, "top_p": 0.9, "max_tokens": 100, "max_completion_tokens": 90, "stop": ["END"], "seed": 7,
    "presence_penalty": 0.1, "frequency_penalty": 0.2, "logit_bias": {"50256": -100.0}, "logprobs": True,
    "top_logprobs": 3, "user": "u1", "metadata": {"team": "a"}, "n": 2, "parallel_tool_calls": False,
    "reasoning_effort": "low", "service_tier": "auto",
    "stream": True, "stream_options": {"include_usage": True},
}


def test_every_field_survives_the_round_trip():
    body = ChatCompletionRequest.model_validate_json(orjson.dumps(FULL))
    proto = to_chat_request(body, "req-1", common_pb2.Caller(key_id="k"))
    out = to_openai_body(proto, "gpt-4o-2024")
    expected = {k: v for k, v in FULL.items() if k not in ("stream", "stream_options", "model")}
    for key, value in expected.items():
        assert out[key] == value, key
    assert out["model"] == "gpt-4o-2024"
    # The router always streams from the upstream and always asks for usage.
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}


def test_string_stop_becomes_a_list():
    body = ChatCompletionRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                                 "stop": "\n"})
    assert to_openai_body(to_chat_request(body, "r", common_pb2.Caller()), "m")["stop"] == ["\n"]


@pytest.mark.parametrize("payload,param,code", [
    ({"model": "m"}, "messages", "missing_required_parameter"),
    ({"messages": [{"role": "user", "content": "x"}]}, "model", "missing_required_parameter"),
    ({"model": "m", "messages": []}, "messages", "invalid_value"),
    ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content", "invalid_value"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3}, "temperature", "invalid_value"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream", "invalid_value"),
])
def test_validation_errors_name_the_field(payload, param, code):
    with pytest.raises(ValidationError) as exc:
        ChatCompletionRequest.model_validate_json(orjson.dumps(payload))
    message, got_param, got_code = describe(exc.value)
    assert (got_param, got_code) == (param, code)
    assert param in message


def test_invalid_json_and_non_object_bodies():
    for raw in (b"{", b"[1,2]", b'"x"'):
        with pytest.raises(ValidationError) as exc:
            ChatCompletionRequest.model_validate_json(raw)
        message, _param, _code = describe(exc.value)
        assert "JSON" in message or "object" in message
