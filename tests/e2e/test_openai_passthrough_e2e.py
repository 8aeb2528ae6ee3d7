"""OpenAI chat -> OpenAI chat: what the proto does not model reaches an OpenAI-wire upstream unchanged
(issue 15, part 3). Each current API field is sent through the official SDK and compared with what the
fake upstream received, one field per case, so a field lost on the way names itself."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

USER = [{"role": "user", "content": "hello"}]
# (field, value) as the client sends them; the upstream must see exactly the same.
FIELDS = [
    ("reasoning_effort", "high"),
    ("modalities", ["text", "audio"]),
    ("audio", {"voice": "alloy", "format": "wav"}),
    ("prediction", {"type": "content", "content": "hello there"}),
    ("service_tier", "flex"),
    ("store", True),
    ("web_search_options", {"search_context_size": "low", "user_location": {
        "type": "approximate", "approximate": {"country": "NO", "city": "Oslo"}}}),
    ("parallel_tool_calls", False),
    ("verbosity", "low"),
    ("prompt_cache_key", "tenant-7"),
    ("safety_identifier", "user-hash-1"),
    ("metadata", {"team": "agents"}),
    ("logit_bias", {"50256": -100.0}),
    ("seed", 42),
    ("top_logprobs", 2),
    ("logprobs", True),
    ("max_completion_tokens", 77),
    ("frequency_penalty", 0.5),
    ("presence_penalty", -0.5),
    ("stop", ["END"]),
    ("response_format", {"type": "json_schema", "json_schema": {
        "name": "x", "strict": True, "schema": {"type": "object", "properties": {}, "additionalProperties": False}}}),
    ("user", "end-user-1"),
]


@pytest.mark.parametrize(("field", "value"), FIELDS, ids=[f for f, _ in FIELDS])
def test_chat_field_reaches_openai_upstream_unchanged(client, upstream, field, value):
    before = len(upstream.requests)
    extra = {"parallel_tool_calls": value, "tools": [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object", "properties": {}}}}]} if field == "parallel_tool_calls" else {field: value}
    client.chat.completions.create(model="up-echo", messages=USER, extra_body=extra)
    sent = upstream.requests[before].body
    assert sent[field] == value


def test_message_and_part_fields_reach_openai_upstream_unchanged(client, upstream):
    messages = [
        {"role": "developer", "content": "be brief"},
        {"role": "user", "content": [
            {"type": "text", "text": "listen"},
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}}]},
        {"role": "assistant", "content": None, "audio": {"id": "audio_abc"}, "refusal": None},
        {"role": "user", "content": "again"}]
    before = len(upstream.requests)
    client.chat.completions.create(model="up-echo", messages=messages)
    sent = upstream.requests[before].body["messages"]
    assert sent[0] == messages[0]
    assert sent[1]["content"] == messages[1]["content"]
    assert sent[2]["audio"] == {"id": "audio_abc"} and sent[2]["content"] is None
    assert sent[3] == messages[3]
