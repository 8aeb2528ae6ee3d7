"""The prompt token bound is never below what the vendor's tokenizer counts, however dense the text."""
from __future__ import annotations

import bpe_openai
import pytest

from services.common.prompt_tokens import BYTES, CL100K, IMAGE_TOKENS, O200K, PromptTokenBound
from services.router.tokens import TokenCounter
from tokenyard.router.v1 import router_pb2

TEXTS = {"plain": "the quick brown fox jumps over the lazy dog " * 40, "cjk": "数据库连接池配置说明" * 60,
         "emoji": "🎉🚀🔥💡🧪👩‍👩‍👧‍👦" * 50, "mixed": "naïve café – 東京 🗼 " * 60}


def chat(text: str, **extra) -> router_pb2.ChatRequest:
    return router_pb2.ChatRequest(model="m", messages=[router_pb2.Message(role="system", content="Be brief."),
                                                       router_pb2.Message(role="user", content=text)], **extra)


@pytest.mark.parametrize("kind", sorted(TEXTS))
@pytest.mark.parametrize("family", [O200K, CL100K, BYTES])
def test_the_bound_covers_the_real_tokenizer_count(kind, family):
    req = chat(TEXTS[kind])
    exact = {name: len(bpe_openai.get_encoding(name).encode_ordinary(TEXTS[kind])) for name in (O200K, CL100K)}
    bound = PromptTokenBound().bound(req, [family])
    # Bytes bound every tokenizer; an encoding bounds itself (plus its chat overhead).
    assert bound >= (max(exact.values()) if family == BYTES else exact[family])
    assert bound >= TokenCounter().prompt_tokens(req)  # what the fake provider reports


def test_dense_text_is_counted_not_guessed_from_characters():
    text = TEXTS["emoji"]
    bound = PromptTokenBound().bound(chat(text), [O200K])
    assert bound > len(text) // 4 * 2  # characters/4 was the old reservation: it undercounted emoji ~8x


def test_several_families_take_the_largest_and_unknown_is_bytes():
    req = chat(TEXTS["cjk"])
    b = PromptTokenBound()
    assert b.bound(req, [O200K, BYTES]) == b.bound(req, [BYTES]) == b.bound(req, []) > b.bound(req, [O200K])


def test_images_tools_and_formats_are_bounded():
    req = chat("look", tools=[router_pb2.Tool(type="function", name="f", parameters_json='{"type":"object"}')],
               response_format_json='{"type":"json_object"}')
    req.messages[1].parts.add(type="image_url", image_url="https://example.com/cat.png")
    plain = PromptTokenBound().bound(chat("look"), [O200K])
    assert PromptTokenBound().bound(req, [O200K]) >= plain + IMAGE_TOKENS + len('{"type":"object"}')
