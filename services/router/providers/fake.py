"""The built-in fake upstream: demos and tests without keys. Behaviour follows the model name.

| model                 | behaviour                                                            |
|-----------------------|----------------------------------------------------------------------|
| fake-echo             | streams the last user message back word by word, reports usage       |
|                       | (at most 256 KiB of it; a longer one is refused with a 400)          |
| fake-slow[-MS]        | echo with MS milliseconds (default 50) between tokens                |
| fake-long-N           | streams N tokens (N at most 1,000,000)                               |
| fake-tool-call        | calls a tool (see `_tool_call_deltas`); after a tool result, answers |
|                       | with it in text ("The tool returned: ..."), so agents' loops finish  |
| fake-no-usage         | echo without usage, so the router counts tokens itself               |
| fake-error-CODE       | fails before the first token with HTTP CODE (429 carries Retry-After) |
| fake-cut-after-N      | streams N tokens, then the connection breaks                         |
| fake-embed[-DIM]      | embeddings: deterministic unit vectors seeded by a hash of the input  |
| fake-refuse           | refuses ("I'm sorry, but I can't help with that.")                   |
| fake-empty            | answers nothing (finish_reason stop, no content)                     |
| fake-json-bad         | answers truncated, invalid JSON                                      |
| fake-json[-ANY]       | echo, but answers JSON when response_format asks (a schema instance) |
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import re
import time
from collections.abc import AsyncIterator

import orjson

from services.router.providers.base import UpstreamError
from services.router.tokens import TokenCounter
from tokenyard.router.v1 import router_pb2


_DECODER = json.JSONDecoder()
ECHO_MAX_CHARS = 256 * 1024
"""The longest text the fake echoes: its answer is as large as the prompt, so this bounds both."""
LONG_MAX_TOKENS = 1_000_000


def _int_suffix(name: str, prefix: str, default: int) -> int:
    rest = name[len(prefix):].lstrip("-")
    return int(rest) if rest.isdigit() else default


def _last_user_text(req: router_pb2.ChatRequest) -> str:
    for m in reversed(req.messages):
        if m.role == "user":
            return m.content or " ".join(p.text for p in m.parts if p.text)
    return ""


def _words_of(text: str) -> list[str]:
    parts = text.split(" ")
    return [w + (" " if i < len(parts) - 1 else "") for i, w in enumerate(parts)]


def _answered_tool(req: router_pb2.ChatRequest) -> str | None:
    """The content of a tool result given since the last assistant turn, or None when there is none (a
    client may add text to the turn that carries the result, as Claude Code does)."""
    for m in reversed(req.messages):
        if m.role == "tool":
            return (m.content or " ".join(p.text for p in m.parts if p.text))[:2000]
        if m.role == "assistant":
            return None
    return None


def _json_in(text: str) -> str | None:
    """The first JSON object written in `text`, re-serialized; None when there is none."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = _DECODER.raw_decode(text[start:])
            if isinstance(value, dict):
                return orjson.dumps(value).decode()
        except ValueError:
            pass
        start = text.find("{", start + 1)
    return None


class FakeProvider:
    def __init__(self, counter: TokenCounter, clock=time.time) -> None:
        self._counter = counter
        self._clock = clock

    async def stream(self, request: router_pb2.ChatRequest, upstream_model: str, *,
                     api_key: str | None = None, whole: bool = False) -> AsyncIterator[list[dict]]:
        model = upstream_model
        if model.startswith("fake-error-"):
            code = _int_suffix(model, "fake-error", 500)
            raise UpstreamError(code, f"fake upstream error {code}", retry_after=1.0 if code == 429 else None)
        if request.HasField("n") and request.n > 1:
            raise UpstreamError(400, "fake upstream supports n=1 only")
        delay = _int_suffix(model, "fake-slow", 50) / 1000 if model.startswith("fake-slow") else 0.0
        base = {"id": f"chatcmpl-fake{int(self._clock() * 1000)}", "object": "chat.completion.chunk",
                "created": int(self._clock()), "model": model}

        def chunk(delta: dict, finish: str | None = None) -> dict:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        if model.startswith("fake-tool-call") and _answered_tool(request) is not None:
            words, finish = _words_of(f"The tool returned: {_answered_tool(request)}"), "stop"
            tokens = list(words)
            yield [chunk({"role": "assistant", "content": ""})]
            for word in words:
                yield [chunk({"content": word})]
        elif model.startswith("fake-tool-call"):
            tokens, finish = [], "tool_calls"
            yield [chunk({"role": "assistant", "content": None})]
            for piece in self._tool_call_deltas(request):
                await asyncio.sleep(delay)
                yield [chunk({"tool_calls": [piece]})]
                tokens.append(piece["function"].get("arguments", ""))
        else:
            words = self._words(request, model)
            cut = _int_suffix(model, "fake-cut-after", 3) if model.startswith("fake-cut-after") else None
            tokens, finish = [], "stop"
            # Like a real model, stop at the client's output limit with finish_reason "length".
            limit = request.max_completion_tokens if request.HasField("max_completion_tokens") else (
                request.max_tokens if request.HasField("max_tokens") else 0)
            if limit and len(words) > limit:
                words, finish = words[:limit], "length"
            yield [chunk({"role": "assistant", "content": ""})]
            for i, word in enumerate(words):
                if cut is not None and i == cut:
                    raise UpstreamError(0, "fake upstream connection reset", kind="stream_broken")
                if delay:
                    await asyncio.sleep(delay)
                yield [chunk({"content": word})]
                tokens.append(word)
        final = [chunk({}, finish)]
        if not model.startswith("fake-no-usage"):
            prompt = self._counter.prompt_tokens(request)
            completion = len(tokens)
            final.append({**base, "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                                           "total_tokens": prompt + completion}})
        yield final

    def _words(self, request: router_pb2.ChatRequest, model: str) -> list[str]:
        canned = fake_answer(request, model)
        if canned is not None:
            return canned
        if model.startswith("fake-long"):
            n = _int_suffix(model, "fake-long", 20)
            if n > LONG_MAX_TOKENS:
                raise UpstreamError(400, f"fake-long streams at most {LONG_MAX_TOKENS} tokens")
            return [f"tok{i} " for i in range(n)]
        text = _last_user_text(request) or "Hello from Tokenyard."
        if len(text) > ECHO_MAX_CHARS:
            raise UpstreamError(400, f"the fake provider echoes at most {ECHO_MAX_CHARS} characters; "
                                     "send a shorter message")
        return _words_of(text)

    @staticmethod
    def _tool_call_deltas(request: router_pb2.ChatRequest) -> list[dict]:
        """Calls the offered tool the last user message names (else the first offered, else `get_weather`),
        with the first JSON object in that message as arguments (else `{"location": <message>, "unit":
        "celsius"}`): an agent test steers the call from its prompt. The call id is unique per turn."""
        text = _last_user_text(request)
        names = sorted((t.name for t in request.tools), key=len, reverse=True)
        name = next((n for n in names if re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w-])", text)), None)
        name = name or (request.tools[0].name if request.tools else "get_weather")
        args = _json_in(text) or orjson.dumps({"location": text or "Paris", "unit": "celsius"}).decode()
        third = max(1, len(args) // 3)
        pieces = [args[:third], args[third:2 * third], args[2 * third:]]
        first = {"index": 0, "id": f"call_fake{len(request.messages)}", "type": "function",
                 "function": {"name": name, "arguments": ""}}
        return [first] + [{"index": 0, "function": {"arguments": p}} for p in pieces]

    async def embed(self, request: router_pb2.EmbedRequest, upstream_model: str, *,
                    api_key: str | None = None) -> dict:
        """Same input, same vector (seeded by a hash of it), so tests and demos can compare results."""
        model = upstream_model
        if model.startswith("fake-error-"):
            code = _int_suffix(model, "fake-error", 500)
            raise UpstreamError(code, f"fake upstream error {code}", retry_after=1.0 if code == 429 else None)
        dim = request.dimensions if request.HasField("dimensions") else _int_suffix(model, "fake-embed", 16)
        data, tokens = [], 0
        for i, item in enumerate(request.inputs):
            text = item.text if item.text else " ".join(str(t) for t in item.tokens)
            tokens += len(item.tokens) if item.tokens else self._counter.count(item.text)
            data.append({"object": "embedding", "index": i, "embedding": fake_vector(text, dim)})
        return {"object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    async def aclose(self) -> None:
        return None


def fake_vector(text: str, dim: int) -> list[float]:
    """A deterministic unit vector for `text` (hash-seeded), like a real model's normalized output."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    v = [rng.gauss(0.0, 1.0) for _ in range(max(1, dim))]
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


def fake_answer(request: router_pb2.ChatRequest, model: str) -> list[str] | None:
    """The answer of the quality-test models (refuse, empty, bad or schema-shaped JSON), else None."""
    if model.startswith("fake-refuse"):
        return ["I'm ", "sorry, ", "but ", "I ", "can't ", "help ", "with ", "that."]
    if model.startswith("fake-empty"):
        return []
    if model.startswith("fake-json-bad"):
        return ['{"answer": ', '"unfinished']
    if model.startswith("fake-json") and request.response_format_json:
        try:
            fmt = orjson.loads(request.response_format_json)
            text = _last_user_text(request)
            if fmt.get("type") == "json_schema":
                doc = schema_instance(fmt["json_schema"]["schema"], text)
            elif fmt.get("type") == "json_object":
                doc = {"answer": text}
            else:
                return None
            return [orjson.dumps(doc).decode()]
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None  # a format the fake cannot follow: echo, and let the caller's checks judge it
    return None


def schema_instance(schema: dict, text: str):
    """A document matching a (simple) JSON Schema: enums pick the option named in `text`, else the first."""
    if not isinstance(schema, dict):
        return text
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        low = text.lower()
        return next((e for e in schema["enum"] if isinstance(e, str) and e.lower() in low), schema["enum"][0])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties")
        return {k: schema_instance(v, text) for k, v in props.items()} if isinstance(props, dict) else {}
    if kind == "array":
        return [schema_instance(schema.get("items"), text)]
    return {"integer": len(text), "number": float(len(text)), "boolean": True, "null": None}.get(kind, text)
