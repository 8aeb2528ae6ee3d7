"""Legacy completions passthrough: a `/v1/completions` request (a ChatRequest with `legacy_completion`)
-> the body for an upstream's own `/completions`, and its `text_completion` answers -> the chat chunk
dicts every adapter yields.

Why not always chat: a completion model continues the prompt as written; rewritten as one chat turn
it gets the chat template around it and answers something else (the server's own `/v1/completions`
and Tokenyard's differed). A deployment that serves the completions API gets the prompt verbatim.
`echo` stays at the edge (it prefixes the prompt itself), so it is never asked of the upstream.
"""
from __future__ import annotations

import orjson

from tokenyard.router.v1 import router_pb2

_SCALARS = ("temperature", "top_p", "max_tokens", "seed", "presence_penalty", "frequency_penalty", "n")


def serves_completions(req: router_pb2.ChatRequest, apis: tuple[str, ...]) -> bool:
    return req.legacy_completion and "completions" in apis and len(req.messages) == 1


def to_completions_body(req: router_pb2.ChatRequest, upstream_model: str, stream: bool = True) -> dict:
    body: dict = orjson.loads(req.extra_json) if req.extra_json else {}
    body.update({"model": upstream_model, "prompt": req.messages[0].content, "stream": stream})
    if stream:
        body["stream_options"] = {"include_usage": True}
    for name in _SCALARS:
        if req.HasField(name):
            body[name] = getattr(req, name)
    if req.HasField("top_logprobs") and req.logprobs:
        body["logprobs"] = req.top_logprobs  # the legacy API's logprobs is the number of alternatives
    if req.stop:
        body["stop"] = list(req.stop)
    if req.logit_bias:
        body["logit_bias"] = dict(req.logit_bias)
    if req.user:
        body["user"] = req.user
    return body


def text_chunk_as_chat(chunk: dict) -> dict:
    """One streamed `text_completion` chunk as a `chat.completion.chunk`."""
    choices = [{"index": c.get("index", 0), "delta": {"content": c.get("text") or ""},
                "finish_reason": c.get("finish_reason")} for c in chunk.get("choices") or ()]
    out = {"id": chunk.get("id", ""), "model": chunk.get("model", ""), "created": chunk.get("created", 0),
           "choices": choices}
    if chunk.get("usage"):
        out["usage"] = chunk["usage"]
    return out


def completion_as_chunk(body: dict) -> dict:
    """A whole (non-streamed) `text_completion` answer as one chat chunk, usage included."""
    return text_chunk_as_chat(body)
