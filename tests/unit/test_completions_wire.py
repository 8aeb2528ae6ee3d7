"""The legacy completions passthrough translator, field by field (services/router/completions_wire.py)."""
from __future__ import annotations

import orjson

from services.router.completions_wire import serves_completions, text_chunk_as_chat, to_completions_body
from tokenyard.router.v1 import router_pb2


def _req(**fields) -> router_pb2.ChatRequest:
    return router_pb2.ChatRequest(model="m", legacy_completion=True,
                                  messages=[router_pb2.Message(role="user", content="def f(x):")], **fields)


def test_every_field_of_a_completion_survives():
    req = _req(max_tokens=5, temperature=0.0, top_p=0.5, seed=3, n=2, presence_penalty=0.1, frequency_penalty=0.2,
               stop=["\n\n"], logit_bias={"50256": -100.0}, user="u", logprobs=True, top_logprobs=2,
               extra_json=orjson.dumps({"min_p": 0.05}).decode())
    body = to_completions_body(req, "served-name")
    assert body == {"model": "served-name", "prompt": "def f(x):", "stream": True,
                    "stream_options": {"include_usage": True}, "max_tokens": 5, "temperature": 0.0, "top_p": 0.5,
                    "seed": 3, "n": 2, "presence_penalty": 0.1, "frequency_penalty": 0.2, "stop": ["\n\n"],
                    "logit_bias": {"50256": -100.0}, "user": "u", "logprobs": 2, "min_p": 0.05}
    assert "stream_options" not in to_completions_body(req, "x", stream=False)


def test_only_completions_on_a_deployment_that_serves_them():
    assert serves_completions(_req(), ("chat", "completions"))
    assert not serves_completions(_req(), ("chat",))
    assert not serves_completions(router_pb2.ChatRequest(messages=[router_pb2.Message(content="x")]),
                                  ("chat", "completions"))


def test_a_text_chunk_becomes_a_chat_delta_with_its_finish_and_usage():
    chunk = {"id": "c", "model": "m", "created": 1, "usage": {"prompt_tokens": 1},
             "choices": [{"index": 1, "text": " return", "finish_reason": "length"}]}
    assert text_chunk_as_chat(chunk) == {"id": "c", "model": "m", "created": 1, "usage": {"prompt_tokens": 1},
                                         "choices": [{"index": 1, "delta": {"content": " return"},
                                                      "finish_reason": "length"}]}
