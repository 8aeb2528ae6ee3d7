"""Which tokenizer bills a prompt on each model this router serves, fallbacks included.

The edge reserves budgets before the call from an upper bound on the prompt's tokens
(services/common/prompt_tokens.py); the bound is exact only for the tokenizer the upstream really
uses. A public model may fall back to another vendor's model, so a model's tokenizers are those of
every deployment in its plan. Only OpenAI's own models have a tokenizer we ship; anything else
(Anthropic, vLLM, Ollama, MiniMax...) is `utf8_bytes`, which bounds every byte-level tokenizer.
"""
from __future__ import annotations

from services.common.prompt_tokens import BYTES, CL100K, O200K
from services.router.plan import Planner
from services.router.registry import Registry, Target
from tokenyard.router.v1 import router_pb2

# Upstream model name prefixes of OpenAI's models, by encoding (tiktoken's model table).
_O200K = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss", "omni-")
_CL100K = ("gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada-002")


def tokenizer_of(target: Target) -> str:
    dep = target.deployment
    if dep.provider == "fake":
        return O200K  # the fake provider counts (and reports) prompt tokens with o200k
    if dep.vendor == "openai" and dep.provider == "openai":
        name = target.upstream_model.rsplit("/", 1)[-1]
        if name.startswith(_O200K):
            return O200K
        if name.startswith(_CL100K):
            return CL100K
    return BYTES


def tokenizers(planner: Planner, model: str) -> list[str]:
    found = {tokenizer_of(t) for group in planner.plan(model) for t in group.targets}
    return sorted(found) or [BYTES]


def max_hedges(planner: Planner, model: str) -> int:
    """Hedges one request may start: each losing hedge read the prompt and is billed for it."""
    return max((g.policy.hedge.max for g in planner.plan(model) if g.policy.hedge.enabled), default=0)


def _info(planner: Planner, name: str, owner: str = "") -> router_pb2.ModelInfo:
    return router_pb2.ModelInfo(id=name, owned_by=owner, tokenizers=tokenizers(planner, name),
                                max_hedges=max_hedges(planner, name))


def list_models(planner: Planner, registry: Registry) -> router_pb2.ListModelsResponse:
    return router_pb2.ListModelsResponse(models=[_info(planner, name, owner) for name, owner in registry.models()],
                                         patterns=[_info(planner, p) for p in registry.patterns()])
