"""`/v1/completions` reaches a deployment's own completions API when it serves one, and is rewritten
as chat only for deployments that do not (issue 17, item 7)."""
from __future__ import annotations

from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router
from tokenyard.router.v1 import router_pb2


def _completion(model: str, **fields) -> router_pb2.ChatRequest:
    return router_pb2.ChatRequest(model=model, legacy_completion=True, max_tokens=8,
                                  messages=[router_pb2.Message(role="user", content="Once upon a")], **fields)


async def _stream_text(r, req) -> tuple[str, router_pb2.ChatFinal]:
    text, final = [], None
    async for msg in r.stub.Chat(req, timeout=10):
        text += [d.content for d in msg.deltas]
        if msg.HasField("final"):
            final = msg.final
    return "".join(text), final


async def test_a_server_with_the_completions_api_gets_the_prompt_verbatim(redis_client):
    vllm, chat_only = await FaultUpstream("vllm").start(), await FaultUpstream("chat").start()
    r = await start_router([openai_dep("vllm", vllm, ["base"], vendor="vllm"),
                            openai_dep("chat", chat_only, ["chatty"])], redis=redis_client)
    try:
        text, final = await _stream_text(r, _completion("base"))
        assert text == "Once upon a|vllm-cont"
        assert (final.usage.prompt_tokens, final.usage.completion_tokens, final.usage.estimated) == (4, 2, False)
        sent = vllm.calls[-1]
        assert sent.path == "/v1/completions" and sent.body["prompt"] == "Once upon a"
        assert "messages" not in sent.body and sent.body["max_tokens"] == 8
        whole = await r.stub.Complete(_completion("base"), timeout=10)
        assert "".join(d.content for d in whole.deltas) == "Once upon a|vllm-cont"
        assert vllm.calls[-1].body["stream"] is False
        # A chat-only deployment still serves completions, translated to chat.
        text, _ = await _stream_text(r, _completion("chatty"))
        assert text.startswith("chat0") and chat_only.calls[-1].path == "/v1/chat/completions"
    finally:
        await r.stop()
        await vllm.stop()
        await chat_only.stop()


async def test_apis_can_be_configured_for_an_openai_completion_model(redis_client):
    up = await FaultUpstream("oai").start()
    r = await start_router([openai_dep("oai", up, ["gpt-3.5-turbo-instruct"], apis=["completions"])],
                           redis=redis_client)
    try:
        text, _ = await _stream_text(r, _completion("gpt-3.5-turbo-instruct"))
        assert text == "Once upon a|oai-cont"
    finally:
        await r.stop()
        await up.stop()
