"""Counts tokens with the upstream server's own tokenizer, for estimates of streams that reported no
usage (llama-cpp-python never sends usage in a stream, even when asked).

Why the server: a stream without usage must still be billed, and the router's o200k counter is not
Gemma's or Llama's tokenizer (10/4 tokens billed for an exact 13/5). Self-hosted servers expose the
model's own tokenizer: llama-cpp-python at `/extras/tokenize/count`, llama.cpp's server at
`/tokenize`, vLLM at `/tokenize`. The count is still marked `estimated` (the chat template's tokens
around the messages are guessed), but the text is tokenized as the model saw it.
"""
from __future__ import annotations

import asyncio

import aiohttp
import orjson

_TIMEOUT = 2.0
_MISSING = object()
"""The server has no such endpoint (404): try the next."""


def _root(base_url: str) -> str:
    return base_url[:-3] if base_url.endswith("/v1") else base_url


class ServerTokenizer:
    """Tries the vendor's endpoints in order and remembers the first that answers."""

    def __init__(self, session: callable, base_url: str, vendor: str, headers: dict[str, str]) -> None:
        self._session, self._root, self._headers = session, _root(base_url), headers
        self._offset: dict[str, int] = {}
        if vendor == "vllm":
            self._ways = [("/tokenize", lambda t, m: {"model": m, "prompt": t, "add_special_tokens": False})]
        else:  # llama.cpp family
            self._ways = [("/extras/tokenize/count", lambda t, m: {"input": t}),
                          ("/tokenize", lambda t, m: {"content": t})]

    async def count(self, text: str, model: str) -> int | None:
        """Tokens in `text` by the server's tokenizer; None when the server has no such endpoint or fails."""
        if not text:
            return 0
        for i, (path, body) in enumerate(list(self._ways)):
            n = await self._ask(path, body(text, model))
            if n is _MISSING:
                continue
            if n is None:
                return None
            if path not in self._offset:
                # llama-cpp-python counts a BOS token into every text (tokenize(add_bos=True)): what it
                # says for "" is that overhead, not part of the text.
                empty = await self._ask(path, body("", model))
                self._offset[path] = empty if isinstance(empty, int) else 0
            self._ways = self._ways[i:]  # this one works: ask it first from now on
            return max(0, n - self._offset[path])
        return None

    async def _ask(self, path: str, body: dict):
        try:
            async with asyncio.timeout(_TIMEOUT):
                async with self._session().post(self._root + path, data=orjson.dumps(body),
                                                headers=self._headers) as resp:
                    if resp.status == 404:
                        return _MISSING
                    if resp.status >= 400:
                        return None
                    doc = orjson.loads(await resp.read())
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError):
            return None
        if not isinstance(doc, dict):
            return None
        n = doc.get("count")
        if n is None and isinstance(doc.get("tokens"), list):
            n = len(doc["tokens"])
        return n if isinstance(n, int) else None
