"""The APIs agents speak (issue 15), driven by the official SDKs against the whole mesh: the OpenAI
Responses API (`client.responses.create`, both modes, tools, previous_response_id, GET/DELETE) and
Anthropic Messages at full fidelity (system turns inside messages, count_tokens, cache_control and
thinking passed through to an Anthropic upstream field by field), plus the access log."""
from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.e2e.conftest import MASTER_KEY, usage_record

pytestmark = pytest.mark.e2e

TOOL = {"type": "function", "name": "lookup_city", "description": "Find a city.", "strict": True,
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}, "unit": {"type": "string"}},
                       "required": ["location", "unit"], "additionalProperties": False}}


@pytest.fixture
def anthropic_client(mesh):
    import anthropic

    with anthropic.Anthropic(base_url=f"http://127.0.0.1:{mesh.http_port}", api_key=MASTER_KEY, max_retries=0,
                             timeout=30) as c:
        yield c


# --- the reported defects ---------------------------------------------------------------------

def test_responses_endpoint_exists_and_answers(client):
    resp = client.responses.create(model="fake-echo", input="hello responses api")
    assert resp.status == "completed"
    assert resp.output_text == "hello responses api"
    assert resp.id.startswith("resp_") and resp.usage.output_tokens == 3 and resp.usage.input_tokens > 0


def test_system_turn_inside_messages_is_accepted(anthropic_client):
    msg = anthropic_client.messages.create(model="fake-echo", max_tokens=50, messages=[
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "system", "content": "You are terse now."},
        {"role": "user", "content": "second question"}])
    assert msg.content[0].text == "second question"


def test_count_tokens_answers_for_a_model_without_an_anthropic_upstream(anthropic_client):
    counted = anthropic_client.messages.count_tokens(
        model="fake-echo", system="Be brief.", messages=[{"role": "user", "content": "count these words please"}],
        tools=[{"name": "f", "description": "d", "input_schema": {"type": "object", "properties": {}}}])
    assert 10 < counted.input_tokens < 200


def test_unknown_model_is_anthropic_404_in_anthropic_words(anthropic_client):
    import anthropic

    with pytest.raises(anthropic.NotFoundError) as err:
        anthropic_client.messages.count_tokens(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert err.value.body["error"] == {"type": "not_found_error", "message": "model: no-such-model"}
    with pytest.raises(anthropic.NotFoundError) as err:
        anthropic_client.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert err.value.body["error"] == {"type": "not_found_error", "message": "model: no-such-model"}


# --- Responses API ----------------------------------------------------------------------------

def test_responses_stream_event_sequence(client):
    events = list(client.responses.create(model="fake-echo", input="one two three", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds.count("response.output_text.delta") == 3
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    done = events[-1].response
    assert done.output_text == "one two three" and done.usage.total_tokens > 3


def test_responses_are_metered_like_chat(client, mesh):
    rid = f"req-resp-{uuid.uuid4().hex}"
    events = list(client.responses.create(model="fake-echo", input="meter these four", stream=True,
                                          extra_headers={"x-request-id": rid}))
    usage = events[-1].response.usage
    record = usage_record(mesh, rid)
    assert int(record["prompt_tokens"]) == usage.input_tokens and int(record["completion_tokens"]) == 3


def test_responses_stream_helper_accumulates_text(client):
    with client.responses.stream(model="fake-echo", input="accumulate me") as stream:
        final = stream.get_final_response()
    assert final.output_text == "accumulate me"


def test_responses_function_tool_round_trip_with_previous_response_id(client):
    first = client.responses.create(model="fake-tool-call", input="Oslo", tools=[TOOL])
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "lookup_city" and json.loads(call.arguments) == {"location": "Oslo", "unit": "celsius"}
    second = client.responses.create(model="fake-tool-call", previous_response_id=first.id, tools=[TOOL], input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "Oslo is in Norway"}])
    assert second.output_text == "The tool returned: Oslo is in Norway"
    assert second.previous_response_id == first.id


def test_responses_streamed_tool_call_events(client):
    events = list(client.responses.create(model="fake-tool-call", input="Rome", tools=[TOOL], stream=True))
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(done.arguments) == {"location": "Rome", "unit": "celsius"}
    assert events[-1].type == "response.completed"
    assert events[-1].response.output[0].type == "function_call"


def test_responses_retrieve_delete_and_store_false(client):
    kept = client.responses.create(model="fake-echo", input="keep me")
    assert client.responses.retrieve(kept.id).output_text == "keep me"
    client.responses.delete(kept.id)
    import openai

    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(kept.id)
    unstored = client.responses.create(model="fake-echo", input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)


def test_responses_are_scoped_to_the_workspace(client, base_url):
    created = httpx.post(f"{base_url.removesuffix('/v1')}/api/v1/keys", json={"name": "ws-b", "workspace": "b"},
                         headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=10)
    assert created.status_code in (200, 201), created.text
    other = created.json()["key"]
    kept = client.responses.create(model="fake-echo", input="workspace secret")
    seen = httpx.get(f"{base_url}/responses/{kept.id}", headers={"Authorization": f"Bearer {other}"}, timeout=10)
    assert seen.status_code == 404
    cont = httpx.post(f"{base_url}/responses", json={"model": "fake-echo", "input": "x",
                                                     "previous_response_id": kept.id},
                      headers={"Authorization": f"Bearer {other}"}, timeout=10)
    assert cont.status_code == 404 and cont.json()["error"]["param"] == "previous_response_id"


def test_responses_json_schema_format(client):
    resp = client.responses.create(model="fake-json", input="pick blue", text={"format": {
        "type": "json_schema", "name": "color", "strict": True,
        "schema": {"type": "object", "properties": {"color": {"enum": ["red", "blue"]}}, "required": ["color"]}}})
    assert json.loads(resp.output_text) == {"color": "blue"}


def test_responses_hosted_tools_dropped_with_warning_or_refused(client):
    raw = client.responses.with_raw_response.create(model="fake-echo", input="hi", tools=[{"type": "web_search"}])
    assert "web_search" in raw.headers["x-tokenyard-warning"]
    assert raw.parse().output_text == "hi"
    import openai

    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="fake-echo", input="hi", tools=[{"type": "web_search"}],
                                tool_choice={"type": "web_search"})
    assert err.value.body["param"] == "tool_choice"


def test_responses_bad_input_is_a_400_naming_the_field(client):
    import openai

    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="fake-echo", input=[{"type": "message", "role": "robot", "content": "x"}])
    assert err.value.body["param"] == "input[0].role"


def test_responses_mid_stream_failure_is_response_failed(client):
    events = list(client.responses.create(model="fake-cut-after-2", input="a b c d e", stream=True))
    assert events[-1].type == "response.failed" and events[-1].response.status == "failed"
    assert any(e.type == "error" for e in events)


# --- Anthropic Messages: passthrough to an Anthropic upstream, field by field -------------------

CACHED_SYSTEM = [{"type": "text", "text": "You are a careful agent.", "cache_control": {"type": "ephemeral"}}]
RICH_MESSAGES = [
    {"role": "user", "content": [
        {"type": "text", "text": "Read this.", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc body"},
         "title": "notes", "cache_control": {"type": "ephemeral"}}]},
    {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Let me think.", "signature": "sig-abc"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "Done reading."}]},
    {"role": "system", "content": "Mid-conversation instruction."},
    {"role": "user", "content": "Summarize."}]


def test_messages_pass_through_to_an_anthropic_upstream_untouched(anthropic_client, anthropic_upstream):
    before = len(anthropic_upstream.requests)
    msg = anthropic_client.messages.create(
        model="claude-echo", max_tokens=256, system=CACHED_SYSTEM, messages=RICH_MESSAGES,
        thinking={"type": "enabled", "budget_tokens": 128}, metadata={"user_id": "u-1"},
        extra_body={"top_k": 5, "output_config": {"effort": "high"}, "context_management": {"edits": []}},
        extra_headers={"anthropic-beta": "context-1m-2025-08-07,interleaved-thinking-2025-05-14"})
    assert [b.type for b in msg.content] == ["thinking", "redacted_thinking", "text"]
    assert msg.content[2].text == "Hello from Claude"
    assert msg.usage.cache_read_input_tokens == 4 and msg.usage.cache_creation_input_tokens == 2
    assert msg.usage.input_tokens == 10 and msg.usage.output_tokens == 7
    sent, headers = anthropic_upstream.requests[before], anthropic_upstream.headers[-1]
    assert sent["system"] == CACHED_SYSTEM
    assert sent["messages"] == RICH_MESSAGES
    assert sent["top_k"] == 5 and sent["thinking"] == {"type": "enabled", "budget_tokens": 128}
    assert sent["metadata"] == {"user_id": "u-1"}
    assert sent["output_config"] == {"effort": "high"} and sent["context_management"] == {"edits": []}
    assert sent["model"] == "claude-echo" and sent["max_tokens"] == 256 and sent["stream"] is True
    assert headers["anthropic-beta"] == "context-1m-2025-08-07,interleaved-thinking-2025-05-14"
    assert headers["x-api-key"] == "sk-ant-test"  # the deployment's key, never the client's


def test_messages_stream_with_cache_control_and_thinking(anthropic_client, anthropic_upstream):
    before = len(anthropic_upstream.requests)
    with anthropic_client.messages.stream(model="claude-echo", max_tokens=64, system=CACHED_SYSTEM,
                                          thinking={"type": "enabled", "budget_tokens": 32},
                                          messages=[{"role": "user", "content": [
                                              {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "Hello from Claude" and final.usage.cache_read_input_tokens == 4
    sent = anthropic_upstream.requests[before]
    assert sent["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 32}


def test_count_tokens_is_exact_from_the_anthropic_upstream(anthropic_client, anthropic_upstream):
    raw = anthropic_client.messages.with_raw_response.count_tokens(
        model="claude-echo", system=CACHED_SYSTEM, messages=RICH_MESSAGES,
        thinking={"type": "enabled", "budget_tokens": 128})
    counted = raw.parse()
    sent = anthropic_upstream.counted[-1]
    assert sent["messages"] == RICH_MESSAGES and sent["system"] == CACHED_SYSTEM and "max_tokens" not in sent
    assert counted.input_tokens == anthropic_upstream.count_of(sent)
    assert raw.headers["x-tokenyard-token-count"] == "exact"


def test_messages_to_a_non_anthropic_upstream_are_translated(anthropic_client, upstream):
    before = len(upstream.requests)
    msg = anthropic_client.messages.create(model="up-echo", max_tokens=64, system=CACHED_SYSTEM,
                                           messages=RICH_MESSAGES,
                                           thinking={"type": "enabled", "budget_tokens": 32})
    assert msg.content[0].type == "text"
    sent = upstream.requests[before].body
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "system", "user"]
    assert "thinking" not in sent and "cache_control" not in json.dumps(sent)


def test_anthropic_errors_use_anthropic_shape(mesh):
    r = httpx.post(f"http://127.0.0.1:{mesh.http_port}/v1/messages", headers={"x-api-key": MASTER_KEY},
                   json={"model": "fake-echo", "messages": [{"role": "user", "content": "x"}]}, timeout=10)
    assert r.status_code == 400
    body = r.json()
    assert body["type"] == "error" and body["error"] == {"type": "invalid_request_error",
                                                        "message": "max_tokens: Field required"}
    assert body["request_id"] == r.headers["x-tokenyard-request-id"]
    r = httpx.post(f"http://127.0.0.1:{mesh.http_port}/v1/messages/count_tokens", headers={"x-api-key": "wrong"},
                   json={"model": "fake-echo", "messages": []}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"


# --- access log and the open root -------------------------------------------------------------

def test_root_answers_without_a_key(mesh):
    base = f"http://127.0.0.1:{mesh.http_port}"
    assert httpx.head(base + "/", timeout=5).status_code == 200
    assert httpx.get(base + "/", timeout=5).json()["service"] == "tokenyard"


def test_every_request_gets_an_access_log_line(mesh):
    base = f"http://127.0.0.1:{mesh.http_port}"
    httpx.get(base + "/v1/nowhere", headers={"User-Agent": "probe/1.0", "x-request-id": "req-access-1",
                                             "Authorization": f"Bearer {MASTER_KEY}"}, timeout=5)
    httpx.post(base + "/v1/messages", headers={"User-Agent": "probe/1.0", "x-request-id": "req-access-2"},
               json={}, timeout=5)
    lines = [json.loads(line) for line in (mesh.log_dir / "edge.log").read_text().splitlines() if line.startswith("{")]
    seen = {line["client_request_id"]: line for line in lines if line.get("event") == "access"}
    assert seen["req-access-1"]["status"] == 404 and seen["req-access-1"]["route"] == "unmatched"
    assert seen["req-access-1"]["user_agent"] == "probe/1.0" and seen["req-access-1"]["method"] == "GET"
    assert seen["req-access-1"]["key_id"] == "master" and seen["req-access-1"]["request_id"].startswith("req_")
    assert seen["req-access-2"]["status"] == 401 and seen["req-access-2"]["path"] == "/v1/messages"
    assert seen["req-access-2"]["route"] == "/v1/messages" and seen["req-access-2"]["key_id"] == ""


THINKING = [{"type": "thinking", "thinking": "Let me think.", "signature": "sig-fake-1"},
            {"type": "redacted_thinking", "data": "opaque-fake"}]


def test_thinking_blocks_come_back_verbatim_and_in_order(anthropic_client):
    """Anthropic requires an assistant turn's thinking blocks back unchanged for tool use with thinking."""
    tools = [{"name": "get_weather", "description": "d", "input_schema": {"type": "object", "properties": {}}}]
    msg = anthropic_client.messages.create(model="claude-tool", max_tokens=64, tools=tools,
                                           thinking={"type": "enabled", "budget_tokens": 32},
                                           messages=[{"role": "user", "content": "weather?"}])
    blocks = [b.model_dump(exclude_none=True) for b in msg.content]
    assert blocks[:2] == THINKING
    assert [b["type"] for b in blocks[2:]] == ["text", "tool_use"] and blocks[3]["input"]["location"] == "Paris"
    with anthropic_client.messages.stream(model="claude-tool", max_tokens=64, tools=tools,
                                          thinking={"type": "enabled", "budget_tokens": 32},
                                          messages=[{"role": "user", "content": "weather?"}]) as s:
        streamed = s.get_final_message()
    assert [b.model_dump(exclude_none=True) for b in streamed.content] == blocks
