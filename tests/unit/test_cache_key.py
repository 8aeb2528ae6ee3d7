"""The cache key: every field that changes the answer changes it; who asks never does."""
from __future__ import annotations

import pytest

from services.edge.cache_key import _WHO_ASKS, ANSWER_FIELDS, deterministic_enough, request_digest
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2


def base() -> router_pb2.ChatRequest:
    return router_pb2.ChatRequest(model="gpt-4o", temperature=0.0,
                                  messages=[router_pb2.Message(role="user", content="hi")])


@pytest.mark.parametrize("change", [
    lambda r: setattr(r, "model", "gpt-4o-mini"),
    lambda r: r.messages.append(router_pb2.Message(role="user", content="more")),
    lambda r: r.tools.append(router_pb2.Tool(name="f")),
    lambda r: setattr(r, "tool_choice_json", '"auto"'),
    lambda r: setattr(r, "response_format_json", '{"type":"json_object"}'),
    lambda r: setattr(r, "temperature", 0.5),
    lambda r: setattr(r, "top_p", 0.9),
    lambda r: setattr(r, "max_tokens", 10),
    lambda r: r.stop.append("\n"),
    lambda r: setattr(r, "seed", 1),
    lambda r: setattr(r, "n", 2),
    lambda r: setattr(r, "extra_json", '{"reasoning_effort":"high"}'),
], ids=["model", "messages", "tools", "tool_choice", "response_format", "temperature", "top_p", "max_tokens",
        "stop", "seed", "n", "extra"])
def test_what_changes_the_answer_changes_the_key(change):
    other = base()
    change(other)
    assert request_digest(other) != request_digest(base())


def test_who_asks_never_changes_the_key():
    other = base()
    other.request_id, other.client_request_id, other.user = "req_other", "client-label", "alice"
    other.started_at_ms, other.attempt_of, other.agent_attempt, other.fallback_follows = 1234, "req_x", 1, True
    other.caller.CopyFrom(common_pb2.Caller(key_id="key_x", workspace="ws", agent_id="a"))
    other.metadata["trace"] = "1"
    other.byok.api_key = "sk-customer-secret"
    assert request_digest(other) == request_digest(base())


def test_only_temperature_zero_or_a_seed_is_deterministic_enough():
    assert deterministic_enough(base())
    sampled = base()
    sampled.temperature = 0.7
    assert not deterministic_enough(sampled)
    sampled.seed = 3
    assert deterministic_enough(sampled)
    assert not deterministic_enough(router_pb2.ChatRequest(model="m"))  # no temperature: the model's default


def test_every_request_field_is_known_to_change_the_answer_or_not():
    fields = {f.name for f in router_pb2.ChatRequest.DESCRIPTOR.fields}
    assert fields == ANSWER_FIELDS | set(_WHO_ASKS), "classify the new ChatRequest fields in cache_key.py"
