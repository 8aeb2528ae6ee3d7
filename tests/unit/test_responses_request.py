"""Responses -> chat, field by field: what reaches the router from each Responses request field and
input item, and what is refused with a 400 naming the field."""
from __future__ import annotations

import orjson
import pytest

from services.edge.dialects.base import Invalid
from services.edge.dialects.responses_request import ResponsesRequest, to_chat_request
from tokenyard.common.v1 import common_pb2

FN = {"type": "function", "name": "get_weather", "description": "Weather.", "strict": True,
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def chat(body: dict, history: list[dict] | None = None):
    return to_chat_request(ResponsesRequest.model_validate(body), history or [], "req_1", common_pb2.Caller(key_id="k"))


def roles(req) -> list[str]:
    return [m.role for m in req.messages]


def test_string_input_and_instructions():
    req, _ = chat({"model": "m", "input": "hi", "instructions": "be brief"})
    assert [(m.role, m.content) for m in req.messages] == [("system", "be brief"), ("user", "hi")]
    assert req.request_id == "req_1" and req.caller.key_id == "k" and req.model == "m"


def test_message_items_with_parts_and_roles():
    req, _ = chat({"model": "m", "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "look"},
                                     {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "seen"}]},
        {"role": "system", "content": "sys"}]})
    assert roles(req) == ["system", "user", "assistant", "system"]
    assert req.messages[0].content == "rules"
    parts = req.messages[1].parts
    assert [(p.type, p.text, p.image_url, p.image_detail) for p in parts] == [
        ("text", "look", "", ""), ("image_url", "", "data:image/png;base64,AA", "low")]
    assert req.messages[2].content == "seen"


def test_inline_file_becomes_a_chat_file_part():
    req, _ = chat({"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_file", "file_data": "data:application/pdf;base64,JV", "filename": "a.pdf"}]}]})
    assert orjson.loads(req.messages[0].parts[0].extra_json) == {
        "type": "file", "file": {"file_data": "data:application/pdf;base64,JV", "filename": "a.pdf"}}


def test_function_calls_merge_into_the_assistant_turn_and_outputs_become_tool_messages():
    req, _ = chat({"model": "m", "input": [
        {"role": "user", "content": "weather in Oslo and Rome"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "checking"}]},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Oslo"}'},
        {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": '{"city":"Rome"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "cold"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "warm"}]}]})
    assert roles(req) == ["user", "assistant", "tool", "tool"]
    assistant = req.messages[1]
    assert assistant.content == "checking"
    assert [(c.id, c.name, c.arguments) for c in assistant.tool_calls] == [
        ("c1", "get_weather", '{"city":"Oslo"}'), ("c2", "get_weather", '{"city":"Rome"}')]
    assert [(m.tool_call_id, m.content) for m in req.messages[2:]] == [("c1", "cold"), ("c2", "warm")]


def test_custom_tool_calls_carry_their_input_as_one_argument():
    req, book = chat({"model": "m", "tools": [{"type": "custom", "name": "apply_patch", "description": "patch"}],
                      "input": [{"role": "user", "content": "go"},
                                {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "*** Begin"},
                                {"type": "custom_tool_call_output", "call_id": "c1", "output": "ok"}]})
    assert orjson.loads(req.messages[1].tool_calls[0].arguments) == {"input": "*** Begin"}
    assert req.tools[0].name == "apply_patch" and "input" in orjson.loads(req.tools[0].parameters_json)["properties"]
    assert book.custom == {"apply_patch"}


def test_history_comes_before_the_new_input():
    req, _ = chat({"model": "m", "input": "second", "instructions": "sys"},
                  history=[{"role": "user", "content": "first"},
                           {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "one"}]}])
    assert [(m.role, m.content) for m in req.messages] == [("system", "sys"), ("user", "first"),
                                                          ("assistant", "one"), ("user", "second")]


def test_function_tools_keep_strict_and_schema():
    req, _ = chat({"model": "m", "input": "x", "tools": [FN]})
    tool = req.tools[0]
    assert (tool.type, tool.name, tool.description, tool.strict) == ("function", "get_weather", "Weather.", True)
    assert orjson.loads(tool.parameters_json) == FN["parameters"]


def test_namespaces_flatten_and_remember_where_a_tool_came_from():
    req, book = chat({"model": "m", "input": "x", "tools": [
        {"type": "namespace", "name": "clock", "tools": [{**FN, "name": "sleep"}]},
        {"type": "namespace", "name": "other", "tools": [{**FN, "name": "sleep"}]}]})
    assert [t.name for t in req.tools] == ["sleep", "other__sleep"]
    assert book.original("sleep") == ("sleep", "clock") and book.original("other__sleep") == ("sleep", "other")


def test_codex_additional_tools_item_declares_tools_and_repeats_are_one_tool():
    item = {"type": "additional_tools", "role": "developer",
            "tools": [{"type": "namespace", "name": "functions", "tools": [{**FN, "name": "wait"}]}]}
    req, _ = chat({"model": "m", "input": [item, {"role": "user", "content": "x"}]}, history=[item])
    assert [t.name for t in req.tools] == ["wait"]


def test_hosted_tools_are_dropped_and_named():
    req, book = chat({"model": "m", "input": "x", "tools": [{"type": "web_search"}, {"type": "file_search"}, FN]})
    assert [t.name for t in req.tools] == ["get_weather"]
    assert sorted(book.dropped) == ["file_search", "web_search"]


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", ""), ("none", '"none"'), ("required", '"required"'),
    ({"type": "function", "name": "get_weather"}, '{"type":"function","function":{"name":"get_weather"}}'),
    ({"type": "allowed_tools", "mode": "required", "tools": []}, '"required"')])
def test_tool_choice(choice, expected):
    req, _ = chat({"model": "m", "input": "x", "tools": [FN], "tool_choice": choice})
    assert req.tool_choice_json == expected


@pytest.mark.parametrize("body", [
    {"tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}},
    {"tools": [{"type": "web_search"}], "tool_choice": "required"}])
def test_a_request_that_needs_a_hosted_tool_is_refused(body):
    with pytest.raises(Invalid) as err:
        chat({"model": "m", "input": "x", **body})
    assert err.value.param == "tool_choice"


def test_json_schema_format_becomes_response_format():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    req, _ = chat({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "s", "strict": True,
                                                                   "schema": schema}}})
    assert orjson.loads(req.response_format_json) == {"type": "json_schema", "json_schema": {
        "name": "s", "schema": schema, "strict": True}}
    req, _ = chat({"model": "m", "input": "x", "text": {"format": {"type": "text"}}})
    assert req.response_format_json == ""


def test_scalars_and_extras():
    req, _ = chat({"model": "m", "input": "x", "max_output_tokens": 99, "temperature": 0.5, "top_p": 0.9,
                   "parallel_tool_calls": False, "top_logprobs": 3, "user": "u", "reasoning": {"effort": "low"},
                   "prompt_cache_key": "pk", "service_tier": "flex", "safety_identifier": "sid",
                   "store": True, "metadata": {"a": "b"}, "include": ["reasoning.encrypted_content"]})
    assert (req.max_completion_tokens, req.temperature, req.top_p, req.parallel_tool_calls) == (99, 0.5, 0.9, False)
    assert (req.logprobs, req.top_logprobs, req.user) == (True, 3, "u")
    assert orjson.loads(req.extra_json) == {"reasoning_effort": "low", "prompt_cache_key": "pk",
                                            "safety_identifier": "sid", "service_tier": "flex"}
    assert not req.metadata  # answered by the gateway (stored with the response), never sent upstream


@pytest.mark.parametrize(("body", "param"), [
    ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
    ({"input": [{"type": "telepathy"}]}, "input[0].type"),
    ({"input": [{"type": "function_call", "name": "f"}]}, "input[0].call_id"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]}, "input[0].content[0].file_id"),
    ({"input": "x", "tools": [{"type": "function"}]}, "tools[0].type"),
    ({"input": "x", "background": True}, "background"),
    ({"input": "x", "conversation": "conv_1"}, "conversation"),
    ({"input": []}, "input")])
def test_bad_requests_name_the_field(body, param):
    with pytest.raises(Invalid) as err:
        chat({"model": "m", **body})
    assert err.value.param == param and err.value.status == 400
