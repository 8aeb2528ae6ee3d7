"""The Python client's routing rules without any I/O: cooldown, one probe per cooldown, backoff, names."""
from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from tests.e2e.client_support import FakeClock
from tokenyard_client.config import ClientConfig
from tokenyard_client.errors import is_gateway_failure
from tokenyard_client.failover import Failover, Route
from tokenyard_client.streams import carries_token


def test_fallback_lasts_the_cooldown_then_one_caller_probes_and_the_rest_stay_on_the_fallback():
    clock = FakeClock()
    f = Failover(30, clock)
    assert (f.route(), f.mode) == (Route.GATEWAY, "gateway")
    f.gateway_down()
    clock.advance(29.9)
    assert (f.route(), f.mode) == (Route.FALLBACK, "fallback")
    clock.advance(0.1)
    assert f.route() is Route.PROBE
    assert f.route() is Route.FALLBACK  # the probe is in flight: no second probe
    f.gateway_up()
    assert (f.route(), f.mode) == (Route.GATEWAY, "gateway")


def test_backoff_doubles_up_to_the_cap_and_the_health_url_sits_beside_v1():
    cfg = ClientConfig(base_url="http://gw:8080/v1/", api_key="k", attempts=5, backoff=1, backoff_max=3)
    assert cfg.backoff_delays() == [1, 2, 3, 3]
    assert cfg.health_url == "http://gw:8080/healthz"
    assert ClientConfig(base_url="http://gw", api_key="k").backoff_delays() == [0.25, 0.5]


def test_model_names_map_exactly_then_by_default_then_unchanged():
    cfg = ClientConfig(base_url="u", api_key="k", fallback_model_map={"gpt-4o": "llama3.2", "*": "qwen2.5"})
    assert [cfg.local_model(m) for m in ("gpt-4o", "other")] == ["llama3.2", "qwen2.5"]
    assert ClientConfig(base_url="u", api_key="k").local_model("same") == "same"


@pytest.mark.parametrize("bad", [{"attempts": 0}, {"cooldown": -1}, {"base_url": ""}])
def test_nonsense_settings_are_refused_when_the_client_is_built(bad):
    with pytest.raises(ValueError):
        ClientConfig(**{"base_url": "u", "api_key": "k", **bad})


def _status_error(code: int) -> openai.APIStatusError:
    import httpx2

    request = httpx2.Request("POST", "http://gw/v1/chat/completions")
    return openai.APIStatusError("x", response=httpx2.Response(code, request=request), body=None)


def test_only_5xx_connection_errors_and_timeouts_count_as_a_failing_gateway():
    import httpx2

    request = httpx2.Request("POST", "http://gw/v1/chat/completions")
    assert is_gateway_failure(openai.APIConnectionError(request=request))
    assert is_gateway_failure(openai.APITimeoutError(request=request))
    assert [is_gateway_failure(_status_error(c)) for c in (400, 401, 403, 404, 429, 500, 502, 503)] == \
        [False] * 5 + [True] * 3


def test_a_role_only_chunk_is_not_a_token_but_text_and_tool_calls_are():
    def chunk(delta: dict) -> ChatCompletionChunk:
        return ChatCompletionChunk.model_validate({"id": "c", "object": "chat.completion.chunk", "created": 0,
                                                   "model": "m", "choices": [{"index": 0, "delta": delta}]})

    assert not carries_token(chunk({"role": "assistant", "content": ""}))
    assert carries_token(chunk({"content": "hi"}))
    assert carries_token(chunk({"tool_calls": [{"index": 0, "id": "t", "type": "function",
                                                "function": {"name": "f", "arguments": ""}}]}))


def test_fallback_calls_are_counted_per_model_and_appended_to_the_log_file(tmp_path):
    import json
    from types import SimpleNamespace

    from tokenyard_client.ledger import FallbackLedger

    ledger = FallbackLedger(tmp_path / "fallback.jsonl", wall_clock=lambda: 1700000000.0)
    ledger.record("chat", "llama3.2", SimpleNamespace(prompt_tokens=11, completion_tokens=5))
    ledger.record("chat", "llama3.2", None)  # a server that reports no usage still counts as a call
    ledger.record("embeddings", "nomic", SimpleNamespace(prompt_tokens=3, completion_tokens=None))
    usage = ledger.snapshot()
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3, 14, 5, 19)
    assert usage.by_model["llama3.2"] == {"calls": 2, "prompt_tokens": 11, "completion_tokens": 5}
    lines = [json.loads(x) for x in (tmp_path / "fallback.jsonl").read_text().splitlines()]
    assert lines[0] == {"at": 1700000000.0, "kind": "chat", "model": "llama3.2", "prompt_tokens": 11,
                        "completion_tokens": 5}
    assert [x["kind"] for x in lines] == ["chat", "chat", "embeddings"]
