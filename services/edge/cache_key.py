"""What makes two chat requests the same question: the canonical hash the response cache is keyed by.

The hash covers every field of the router request that can change the answer (model, messages, tools and
tool choice, sampling parameters, stop, seed, response format, logprobs, n, and any extra body fields), in
proto deterministic serialization, so JSON key order or whitespace in the client's body do not matter.
It never covers who asks or how the edge tracks the call (request ids, caller, key, BYOK credential, `user`,
`metadata`, attempt bookkeeping): the cache is
scoped by workspace instead (services/edge/response_cache.py), so two keys of one workspace share
answers and two workspaces never do.
"""
from __future__ import annotations

import hashlib

from tokenyard.router.v1 import router_pb2

_WHO_ASKS = ("request_id", "client_request_id", "caller", "byok", "user", "metadata", "fallback_follows",
             "agent_attempt", "attempt_of", "started_at_ms")
ANSWER_FIELDS = frozenset({
    "model", "messages", "tools", "tool_choice_json", "response_format_json", "temperature", "top_p", "max_tokens",
    "max_completion_tokens", "stop", "seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
    "top_logprobs", "n", "parallel_tool_calls", "extra_json", "native", "legacy_completion"})
"""Every other field is hashed too (a field nobody classified yet splits the cache rather than merging two
questions); tests/unit/test_cache_key.py fails until a new ChatRequest field is put in one list or the other."""
VERSION = b"ty-cache-v1\0"
"""Bumped when the hashed fields change, so old entries are simply never found again."""


def request_digest(request: router_pb2.ChatRequest) -> str:
    """Hex SHA-256 of the answer-changing fields of `request`."""
    what = router_pb2.ChatRequest()
    what.CopyFrom(request)
    for name in _WHO_ASKS:
        what.ClearField(name)
    return hashlib.sha256(VERSION + what.SerializeToString(deterministic=True)).hexdigest()


def deterministic_enough(request: router_pb2.ChatRequest) -> bool:
    """Temperature 0 or a fixed seed: a repeat of the question may well get the same answer anyway, so
    serving it from the cache changes nothing a client could count on."""
    return (request.HasField("temperature") and request.temperature == 0) or request.HasField("seed")
