"""An upper bound on the tokens of a chat prompt, for budget reservations and TPM charges before a call.

A reservation is only as good as its token count: characters/4 let an emoji prompt spend ~8x its
budget and a CJK prompt ~4x. So the bound is computed per tokenizer family, and is a bound, not an
estimate, for each:

- `o200k_base` / `cl100k_base` (OpenAI's models, and the fake provider, which counts with o200k): the
  vendor tokenizes each message's text on its own, with the same encoding (bpe_openai is tiktoken's
  encoder, vocabularies shipped in the wheel); encoding the same text gives the same count. The chat
  format adds a few tokens per message (OpenAI documents 3 plus the encoded role, 1 more with a `name`,
  and 3 to prime the reply), counted as `_PER_MESSAGE` (3 + 1, as if every message had a name) plus
  the encoded role and name, and `_REPLY_PRIMER`.
- `utf8_bytes` (every other family: Anthropic, Llama, Qwen, MiniMax... whose tokenizers we do not ship):
  a byte-level BPE has a token for each of the 256 bytes and no token shorter than one byte, and a
  SentencePiece model with byte fallback emits at most one token per UTF-8 byte of a character it does
  not know (a known piece covers at least one character, i.e. at least one byte), plus its one dummy
  prefix. So UTF-8 bytes + 1 per text bounds any of them; chat templates add `_PER_MESSAGE_BYTES`.

What is not text is bounded by fixed allowances a vendor cannot exceed: an image by `IMAGE_TOKENS`
(OpenAI's high-detail maximum is 1,445 for gpt-4o; Anthropic's resize cap is about 1,600), tool
definitions and other JSON by their UTF-8 bytes plus `_TOOLS_PREAMBLE` (Anthropic's tool-use system
prompt is about 350 tokens). A request that may reach several families is bounded by the largest count.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

O200K, CL100K, BYTES = "o200k_base", "cl100k_base", "utf8_bytes"
ENCODINGS = (O200K, CL100K)
_PER_MESSAGE = 4
_PER_MESSAGE_BYTES = 24
_REPLY_PRIMER = 3
_PER_TOOL = 32
_TOOLS_PREAMBLE = 600
IMAGE_TOKENS = 2_000


_CACHE_ENTRIES = 2048
_CACHE_MAX_CHARS = 8192


class PromptTokenBound:
    """Counts with the real tokenizer where one applies. Its vocabulary (~60 MB) loads on first use,
    so a process that never sees an OpenAI-family model never pays for it. `encoders` is injectable
    (tests, and a process that must not load them).

    Encoding costs ~0.1-0.2 ms per kB of text, and chat clients resend the same system prompt and
    history every turn, so counts of texts up to 8k characters are remembered (2,048 of them at
    most, under 40 MB of text; the table is simply emptied when full)."""

    def __init__(self, encoders: dict[str, Any] | None = None) -> None:
        self._encoders: dict[str, Any] = dict(encoders or {})
        self._counts: dict[tuple[str, str], int] = {}

    def _encoded(self, family: str, s: str) -> int:
        if len(s) > _CACHE_MAX_CHARS:
            return len(self._encoder(family).encode_ordinary(s))
        key = (family, s)
        n = self._counts.get(key)
        if n is None:
            if len(self._counts) >= _CACHE_ENTRIES:
                self._counts.clear()
            n = self._counts[key] = len(self._encoder(family).encode_ordinary(s))
        return n

    def _encoder(self, name: str):
        enc = self._encoders.get(name)
        if enc is None:
            import bpe_openai  # deferred: see the class docstring

            enc = self._encoders[name] = bpe_openai.get_encoding(name)
        return enc

    def bound(self, req, families: Iterable[str]) -> int:
        """The most prompt tokens `req` (a router ChatRequest) can be billed for by any of `families`
        (unknown families count as bytes)."""
        names = set(families) or {BYTES}
        return max(self._count(req, name) for name in names)

    def _count(self, req, family: str) -> int:
        if family in ENCODINGS:
            def text(s: str) -> int:
                return self._encoded(family, s) if s else 0
            per_message = _PER_MESSAGE
        else:
            def text(s: str) -> int:
                return len(s.encode()) + 1 if s else 0
            per_message = _PER_MESSAGE_BYTES
        total = _REPLY_PRIMER
        for m in req.messages:
            total += per_message + text(m.role) + text(m.content) + text(m.name) + text(m.tool_call_id)
            total += _bytes(m.extra_json)
            for p in m.parts:
                total += text(p.text) + _bytes(p.extra_json)
                if p.image_url or p.type in ("image_url", "image", "input_image"):
                    total += IMAGE_TOKENS
            for call in m.tool_calls:
                total += _PER_TOOL + text(call.id) + text(call.name) + text(call.arguments)
        if req.tools:
            total += _TOOLS_PREAMBLE
            for tool in req.tools:
                total += (_PER_TOOL + text(tool.name) + text(tool.description) + _bytes(tool.parameters_json)
                          + _bytes(tool.extra_json))
        return total + _bytes(req.tool_choice_json) + _bytes(req.response_format_json)


def _bytes(s: str) -> int:
    """JSON the vendor renders its own way (tool schemas, response formats): its UTF-8 bytes bound it."""
    return len(s.encode()) + 1 if s else 0
