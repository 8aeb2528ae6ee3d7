"""What answers cost, as SDK users see it: a Claude answer (cache reads and writes included) and an
embeddings call cost what genai-prices says; an unpriced model's cost is unknown, never a fake zero, its
usage is counted apart, and a key with a budget cannot use it."""
from __future__ import annotations

import asyncio
import secrets
import threading
import time
from decimal import ROUND_HALF_UP, Decimal

import genai_prices
import httpx
import pytest
from aiohttp import web

from services.common.redis_server import LocalRedis
from services.launcher.mesh import Mesh
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream

pytestmark = pytest.mark.e2e
MASTER = "ty-prices-e2e-" + secrets.token_hex(12)
HEADERS = {"Authorization": f"Bearer {MASTER}"}


def vendor_micros(model: str, provider: str, **usage) -> int:
    price = genai_prices.calc_price(genai_prices.Usage(**usage), model, provider_id=provider).total_price
    return int((price * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Upstreams:
    """A fake Anthropic API and a fake OpenAI embeddings endpoint on one loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> "Upstreams":
        self.thread.start()
        self.anthropic = asyncio.run_coroutine_threadsafe(FakeAnthropicUpstream().start(), self.loop).result(10)
        self.embed_url = asyncio.run_coroutine_threadsafe(self._embeddings(), self.loop).result(10)
        return self

    async def _embeddings(self) -> str:
        async def embed(request: web.Request) -> web.Response:
            body = await request.json()
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            return web.json_response({"object": "list", "model": body["model"],
                                      "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2]}
                                               for i in range(len(inputs))],
                                      "usage": {"prompt_tokens": 1234, "total_tokens": 1234}})
        app = web.Application()
        app.router.add_post("/v1/embeddings", embed)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.anthropic.stop(), self.loop).result(10)
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def own_mesh(tmp_path_factory):
    root = tmp_path_factory.mktemp("prices")
    ups = Upstreams().start()
    redis = LocalRedis(root / "redis").start()
    cfg = root / "tokenyard.yaml"
    cfg.write_text(f"""
deployments:
  - {{name: fake, provider: fake, models: [fake-echo], price: {{input: 0, output: 0}}}}
  - {{name: mystery, provider: fake, models: [fake-mystery]}}
  - name: anthropic
    provider: anthropic
    vendor: anthropic
    base_url: {ups.anthropic.base_url}
    api_key: {ups.anthropic.api_key}
    models: [{{name: claude-sonnet, upstream: claude-sonnet-4-5}}]
  - name: openai
    provider: openai
    vendor: openai
    base_url: {ups.embed_url}
    api_key: sk-embed-test
    models: [text-embedding-3-small]
""")
    mesh = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER, "TOKENYARD_CONFIG": str(cfg), "REDIS_URL": redis.url,
                     "TOKENYARD_USAGE_SPOOL": str(root / "spool")}, log_dir=root / "logs")
    mesh.start()
    yield mesh
    mesh.stop()
    redis.stop()
    ups.stop()


def base(mesh) -> str:
    return f"http://127.0.0.1:{mesh.http_port}"


def test_claude_answer_costs_what_genai_prices_says_with_cache_reads_and_writes(own_mesh):
    import anthropic

    client = anthropic.Anthropic(base_url=base(own_mesh), api_key=MASTER, max_retries=0)
    raw = client.messages.with_raw_response.create(model="claude-sonnet", max_tokens=50,
                                                   messages=[{"role": "user", "content": "hi"}])
    msg = raw.parse()
    assert msg.content[0].text == "Hello from Claude"
    # The fake upstream reports 10 uncached input, 4 cache-read, 2 cache-write and 7 output tokens.
    expected = vendor_micros("claude-sonnet-4-5", "anthropic", input_tokens=16, cache_read_tokens=4,
                             cache_write_tokens=2, output_tokens=7)
    assert raw.headers["x-tokenyard-cost-usd"] == f"{expected / 1e6:.6f}"
    # ...and the cache tokens are priced as such (reads at a tenth of input, writes at 1.25x), not as input.
    assert expected != vendor_micros("claude-sonnet-4-5", "anthropic", input_tokens=16, output_tokens=7)
    # Anthropic's own usage shape: input_tokens without the cache reads and writes reported apart.
    u = msg.usage
    assert (u.input_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens, u.output_tokens) == (10, 4, 2, 7)
    # A streamed answer says its cost on message_delta (headers went out before it was known).
    deltas = [e for e in client.messages.create(model="claude-sonnet", max_tokens=50, stream=True,
                                                messages=[{"role": "user", "content": "hi"}])
              if e.type == "message_delta"]
    assert deltas[0].model_extra["tokenyard"]["cost_micros"] == expected
    assert deltas[0].model_extra["tokenyard"]["cost_known"] is True


def test_claude_through_the_openai_sdk_costs_the_same(own_mesh):
    from openai import OpenAI

    client = OpenAI(base_url=base(own_mesh) + "/v1", api_key=MASTER, max_retries=0)
    expected = vendor_micros("claude-sonnet-4-5", "anthropic", input_tokens=16, cache_read_tokens=4,
                             cache_write_tokens=2, output_tokens=7)
    raw = client.chat.completions.with_raw_response.create(model="claude-sonnet",
                                                           messages=[{"role": "user", "content": "hi"}])
    assert raw.parse().usage.prompt_tokens_details.cached_tokens == 4
    assert raw.headers["x-tokenyard-cost-usd"] == f"{expected / 1e6:.6f}"
    chunks = list(client.chat.completions.create(model="claude-sonnet", stream=True,
                                                 stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": "hi"}]))
    assert chunks[-1].model_extra["tokenyard"]["cost_micros"] == expected


def test_embeddings_cost_what_genai_prices_says(own_mesh):
    from openai import OpenAI

    client = OpenAI(base_url=base(own_mesh) + "/v1", api_key=MASTER, max_retries=0)
    raw = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(raw.parse().data) == 2
    expected = vendor_micros("text-embedding-3-small", "openai", input_tokens=1234)
    assert expected > 0 and raw.headers["x-tokenyard-cost-usd"] == f"{expected / 1e6:.6f}"


def test_an_unpriced_model_says_its_cost_is_unknown_and_usage_counts_it_apart(own_mesh):
    from openai import OpenAI

    client = OpenAI(base_url=base(own_mesh) + "/v1", api_key=MASTER, max_retries=0)
    before = httpx.get(base(own_mesh) + "/api/v1/usage?period=day", headers=HEADERS).json()["totals"]
    raw = client.chat.completions.with_raw_response.create(model="fake-mystery",
                                                           messages=[{"role": "user", "content": "what"}])
    assert raw.headers["x-tokenyard-cost-usd"] == "unknown"
    chunks = list(client.chat.completions.create(model="fake-mystery", stream=True,
                                                 stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": "what"}]))
    tokenyard = chunks[-1].model_extra["tokenyard"]
    assert tokenyard["cost_known"] is False and tokenyard["cost_usd"] is None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        totals = httpx.get(base(own_mesh) + "/api/v1/usage?period=day", headers=HEADERS).json()["totals"]
        if totals["unknown_cost_requests"] - before["unknown_cost_requests"] >= 2:
            break
        time.sleep(0.2)
    assert totals["unknown_cost_requests"] - before["unknown_cost_requests"] == 2


def test_a_key_with_a_budget_cannot_use_an_unpriced_model(own_mesh):
    resp = httpx.post(base(own_mesh) + "/api/v1/keys", headers=HEADERS,
                      json={"workspace": "ws-price", "budget_usd": 5})
    assert resp.status_code == 201, resp.text
    key = {"Authorization": f"Bearer {resp.json()['key']}"}
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    refused = httpx.post(base(own_mesh) + "/v1/chat/completions", headers=key, json={**body, "model": "fake-mystery"})
    assert refused.status_code == 400
    err = refused.json()["error"]
    assert err["code"] == "model_price_unknown" and "fake-mystery" in err["message"] and err["param"] == "model"
    ok = httpx.post(base(own_mesh) + "/v1/chat/completions", headers=key, json={**body, "model": "fake-echo"})
    assert ok.status_code == 200 and ok.headers["x-tokenyard-cost-usd"] == "0.000000"


def test_the_router_names_each_unpriced_model_at_start(own_mesh):
    log = (own_mesh.log_dir / "router.log").read_text()
    lines = [line for line in log.splitlines() if "model_price_unknown" in line]
    assert len(lines) == 1 and "fake-mystery" in lines[0]
