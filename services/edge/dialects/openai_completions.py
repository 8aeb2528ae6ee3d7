"""OpenAI legacy completions (`/v1/completions`): sent as they are to deployments that serve the
completions API (the router decides, per deployment), translated to chat for chat-only upstreams.

The prompt becomes one user message; each streamed delta becomes a `text_completion` chunk. Features
that have no chat equivalent (`suffix`, `best_of` > 1, several prompts, token-array prompts) get a
clear 400 rather than a silently different answer.
"""
from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from services.common.ids import new_id
from services.edge.completions_format import usage_dict
from services.edge.dialects.base import Invalid, Parsed, estimate_tokens
from services.edge.dialects.openai_chat import openai_error
from services.edge.schemas import Int64, StreamOptions, TokenCount
from services.edge.translate import describe
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

_DONE = b"data: [DONE]\n\n"


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: Annotated[str, Field(min_length=1, max_length=256)]
    prompt: StrictStr | list[StrictStr] | list[Int64] | list[list[Int64]]
    suffix: StrictStr | None = None
    max_tokens: TokenCount | None = 16
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    n: Annotated[int, Field(ge=1, le=16)] | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    logprobs: Annotated[int, Field(ge=0, le=5)] | None = None
    echo: StrictBool = False
    stop: StrictStr | list[StrictStr] | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    best_of: Annotated[int, Field(ge=1, le=20)] | None = None
    logit_bias: dict[str, float] | None = None
    user: StrictStr | None = None
    seed: Int64 | None = None


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    if prompt and all(isinstance(p, str) for p in prompt):
        if len(prompt) > 1:
            raise Invalid("Only one prompt per request is supported; send one request per prompt.", "prompt")
        return prompt[0]
    raise Invalid("Token-array prompts are not supported; send the prompt as text.", "prompt")


class _Writer:
    def __init__(self, head: dict, echo_text: str) -> None:
        self._head = head
        self._echo = echo_text

    def _line(self, obj: dict) -> bytes:
        return b"data: " + orjson.dumps({**self._head, **obj}) + b"\n\n"

    def chunk(self, msg: router_pb2.ChatResponse) -> bytes:
        choices = []
        for d in msg.deltas:
            text = d.content
            if self._echo:
                text, self._echo = self._echo + text, ""
            choices.append({"text": text, "index": d.index, "logprobs": None, "finish_reason": d.finish_reason or None})
        return self._line({"choices": choices})

    def finish(self, final: router_pb2.ChatFinal, include_usage: bool) -> bytes:
        return (self._line({"choices": [], "usage": usage_dict(final.usage)}) if include_usage else b"") + _DONE

    def fail(self, final: router_pb2.ChatFinal | None, error: dict) -> bytes:
        head = b""
        if final is not None:
            head = self._line({"choices": [{"text": "", "index": 0, "logprobs": None, "finish_reason": "error"}],
                               "usage": usage_dict(final.usage)})
        return head + b"event: error\ndata: " + orjson.dumps({"error": error}) + b"\n\n"


class OpenAICompletions:
    name = "openai"
    error = staticmethod(openai_error)

    def parse(self, raw: bytes, request_id: str, caller: common_pb2.Caller) -> Parsed:
        try:
            body = CompletionRequest.model_validate_json(raw)
        except ValidationError as exc:
            message, param, code = describe(exc)
            raise Invalid(message, param, code) from None
        if body.suffix:
            raise Invalid("`suffix` is not supported by chat upstreams.", "suffix")
        if body.best_of and body.best_of > 1:
            raise Invalid("`best_of` > 1 is not supported.", "best_of")
        req = router_pb2.ChatRequest(request_id=request_id, model=body.model, caller=caller, user=body.user or "",
                                     messages=[router_pb2.Message(role="user", content=_prompt_text(body.prompt))],
                                     legacy_completion=True)  # a deployment with the completions API gets it as is
        for name in ("max_tokens", "temperature", "top_p", "n", "presence_penalty", "frequency_penalty", "seed"):
            if getattr(body, name) is not None:
                setattr(req, name, getattr(body, name))
        if body.logprobs:
            req.logprobs, req.top_logprobs = True, body.logprobs
        if body.stop is not None:
            req.stop.extend([body.stop] if isinstance(body.stop, str) else body.stop)
        if body.logit_bias:
            req.logit_bias.update(body.logit_bias)
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return Parsed(req, body.stream, include_usage, estimate_tokens(req), echo=body.echo)

    def writer(self, parsed: Parsed, first: router_pb2.ChatResponse) -> _Writer:
        return _Writer(self._head(parsed, first), parsed.request.messages[0].content if parsed.echo else "")

    def body(self, parsed, first, messages, final) -> dict:
        texts: dict[int, list[str]] = {}
        finish: dict[int, str] = {}
        for msg in messages:
            for d in msg.deltas:
                texts.setdefault(d.index, []).append(d.content)
                if d.finish_reason:
                    finish[d.index] = d.finish_reason
        prefix = parsed.request.messages[0].content if parsed.echo else ""
        choices = [{"text": prefix + "".join(texts.get(i, [])), "index": i, "logprobs": None,
                    "finish_reason": finish.get(i, "stop")} for i in sorted(texts) or [0]]
        return {**self._head(parsed, first), "choices": choices, "usage": usage_dict(final.usage)}

    @staticmethod
    def _head(parsed: Parsed, first: router_pb2.ChatResponse) -> dict:
        return {"id": new_id("cmpl-", 24), "object": "text_completion",
                "created": first.created or int(time.time()), "model": first.model or parsed.request.model}
