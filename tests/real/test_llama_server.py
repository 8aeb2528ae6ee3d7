"""Tokenyard in front of a real model server (llama-cpp-python + Gemma 3 270M), through the openai SDK.

What the real server does that fakes did not (each is handled in the router; see the issue 17 notes):
usage only in non-streamed answers, an empty 200 event stream for a prompt over the context, 500s
that are verdicts on the request, a GGUF without a chat template.
"""
from __future__ import annotations

import re
import time

import httpx
import openai
import pytest

from tests.real.conftest import MASTER_KEY

pytestmark = [pytest.mark.real, pytest.mark.timeout(240)]  # the first test waits for the server and mesh
ADMIN = {"Authorization": f"Bearer {MASTER_KEY}"}
QUESTION = [{"role": "user", "content": "Name three colours of the rainbow."}]


def _breakers(base_url: str) -> dict[str, str]:
    body = httpx.get(base_url.removesuffix("/v1") + "/api/v1/health/upstreams", headers=ADMIN, timeout=10).json()
    return {d["name"]: d["breaker"]["state"] for d in body["data"]}


def test_a_non_streamed_chat_is_billed_the_servers_exact_usage(client, llama):
    answer = client.chat.completions.create(model="gemma", messages=QUESTION, max_tokens=16, temperature=0)
    direct = httpx.post(llama.base_url + "/chat/completions", timeout=120, json={
        "model": "gemma", "messages": QUESTION, "max_tokens": 16, "temperature": 0}).json()
    assert answer.usage.prompt_tokens == direct["usage"]["prompt_tokens"]
    assert answer.usage.completion_tokens == direct["usage"]["completion_tokens"] <= 16
    assert answer.choices[0].message.content == direct["choices"][0]["message"]["content"]
    assert not (answer.usage.model_extra or {}).get("estimated")


def test_a_streamed_chat_says_its_usage_is_an_estimate_and_keeps_it_within_max_tokens(client, llama):
    text, usage = [], None
    for chunk in client.chat.completions.create(model="gemma", messages=QUESTION, max_tokens=16, temperature=0,
                                                stream=True, stream_options={"include_usage": True}):
        if chunk.choices:
            text.append(chunk.choices[0].delta.content or "")
        if chunk.usage:
            usage = chunk.usage
    assert "".join(text).strip()
    # llama-cpp-python sends no usage in a stream, even when asked: the router counts, and says so.
    assert usage is not None and (usage.model_extra or {}).get("estimated") is True
    assert 0 < usage.completion_tokens <= 16 and usage.prompt_tokens > 0
    # Counted by Gemma's own tokenizer (the server's), not the router's o200k.
    def count(s: str) -> int:
        return httpx.post(llama.base_url.removesuffix("/v1") + "/extras/tokenize/count", timeout=30,
                          json={"input": s}).json()["count"]

    assert usage.completion_tokens == min(count("".join(text)) - count(""), 16)  # less its BOS token


@pytest.mark.parametrize("stream", [False, True])
def test_a_prompt_over_the_context_gets_400_with_the_servers_reason_and_the_breaker_stays_closed(
        client, base_url, stream):
    too_long = [{"role": "user", "content": "word " * 900}]
    for _ in range(3):  # more than the breaker's threshold (2)
        with pytest.raises(openai.BadRequestError) as exc:
            client.chat.completions.create(model="gemma", messages=too_long, max_tokens=8, stream=stream)
        assert exc.value.status_code == 400
        assert "maximum context length is 512 tokens" in exc.value.message
        assert exc.value.code == "context_length_exceeded"
    assert _breakers(base_url)["llama"] == "closed"
    answer = client.chat.completions.create(model="gemma", messages=QUESTION, max_tokens=4)
    assert answer.choices[0].finish_reason in ("stop", "length")


def test_a_client_that_leaves_mid_stream_stops_the_servers_generation(base_url, llama):
    before = llama.output().count("Disconnected from client")
    body = {"model": "gemma", "stream": True, "max_tokens": 400, "temperature": 0,
            "messages": [{"role": "user", "content": "Write a very long story about a lighthouse."}]}
    with httpx.stream("POST", base_url + "/chat/completions", headers=ADMIN, json=body, timeout=60) as resp:
        assert resp.status_code == 200
        seen = 0
        for line in resp.iter_lines():
            if line.startswith("data: ") and '"content"' in line:
                seen += 1
                if seen == 3:
                    break  # the client goes away: closing the response drops the connection
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and llama.output().count("Disconnected from client") == before:
        time.sleep(0.1)
    assert llama.output().count("Disconnected from client") == before + 1
    # The server's own accounting: the generation that was running stopped well before 400 tokens.
    runs = [int(n) for n in re.findall(r"eval time =.*?/\s+(\d+) runs", llama.output())]
    assert runs and runs[-1] < 400


def test_a_dead_deployment_fails_over_to_the_live_one(client):
    raw = client.chat.completions.with_raw_response.create(model="gemma-ha", messages=QUESTION, max_tokens=4)
    answer = raw.parse()
    assert answer.choices[0].message.content is not None
    assert raw.headers["x-tokenyard-deployment"] == "llama-ha"
    assert raw.headers["x-tokenyard-attempts"] == "2"  # the dead one first (priority), then the live one


def test_completions_reach_the_servers_own_completions_api(client, llama):
    prompt = "The three primary colours are"
    ours = client.completions.create(model="gemma", prompt=prompt, max_tokens=12, temperature=0)
    direct = httpx.post(llama.base_url + "/completions", timeout=120, json={
        "model": "gemma", "prompt": prompt, "max_tokens": 12, "temperature": 0}).json()
    assert ours.choices[0].text == direct["choices"][0]["text"]
    assert ours.usage.prompt_tokens == direct["usage"]["prompt_tokens"]
