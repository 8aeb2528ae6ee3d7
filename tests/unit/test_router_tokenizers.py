"""The router tells the edge every tokenizer that may bill a model's prompt, its fallbacks' included."""
from __future__ import annotations

from services.common.prompt_tokens import BYTES, CL100K, O200K
from services.router.config import Deployment, ModelRoute
from services.router.plan import Planner
from services.router.policy import GroupPolicy, HedgePolicy, RoutingPolicy
from services.router.tokenizers import list_models
from services.router.upstreams import UpstreamBook


def dep(name: str, provider: str, models: list[tuple[str, str]], vendor: str = "") -> Deployment:
    return Deployment(name=name, provider=provider, models=tuple(ModelRoute(n, u) for n, u in models),
                      base_url="http://127.0.0.1:9/v1", vendor=vendor or provider)


def test_fallbacks_to_another_vendor_add_its_tokenizer():
    book = UpstreamBook((dep("openai", "openai", [("gpt-4o", "gpt-4o"), ("gpt-4", "gpt-4-0613")]),
                         dep("anthropic", "anthropic", [("claude", "claude-sonnet-4-5")]),
                         dep("vllm", "openai", [("llama", "meta-llama/Llama-3.1-8B")], vendor="vllm"),
                         dep("fake", "fake", [("fake-*", "fake-*")])), lambda d: None)
    policy = RoutingPolicy(groups={"gpt-4o": GroupPolicy(fallbacks=("claude",))})
    resp = list_models(Planner(book, policy), book.registry)
    got = {m.id: list(m.tokenizers) for m in resp.models}
    assert got == {"gpt-4o": sorted([O200K, BYTES]), "gpt-4": [CL100K], "claude": [BYTES], "llama": [BYTES]}
    assert [(p.id, list(p.tokenizers)) for p in resp.patterns] == [("fake-*", [O200K])]


def test_a_hedged_models_plan_says_how_many_hedges_may_read_the_prompt():
    book = UpstreamBook((dep("a", "fake", [("m", "fake-echo"), ("plain", "fake-echo")]),
                         dep("b", "fake", [("m", "fake-echo")])), lambda d: None)
    policy = RoutingPolicy(groups={"m": GroupPolicy(hedge=HedgePolicy(delay=0.2, max=2))})
    got = {m.id: m.max_hedges for m in list_models(Planner(book, policy), book.registry).models}
    assert got == {"m": 2, "plain": 0}
