"""Builds the ordered model groups one request may use: the group asked for, then its fallbacks
(configured per group, else the per-vendor default chain), each with the deployments that serve it.

BYOK: with a customer's own key the plan keeps only deployments whose configured `vendor:` is that key's
vendor (and sends the key instead of the deployment's), so the key can never reach another provider, a
server whose vendor was only inferred from its wire format, or a registered node; a BYOK base URL
becomes a deployment of its own. Fallbacks that would cross vendors are simply absent.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.router.config import Deployment, ModelRoute
from services.router.policy import GroupPolicy, RoutingPolicy
from services.router.registry import Target
from services.router.upstreams import UpstreamBook
from tokenyard.common.v1 import common_pb2

_WIRE_BY_VENDOR = {"anthropic": "anthropic"}


@dataclass(frozen=True)
class Group:
    model: str
    """Canonical public model name."""
    policy: GroupPolicy
    targets: tuple[Target, ...]
    fallback: bool
    """False for the group the client asked for."""


class Planner:
    def __init__(self, book: UpstreamBook, policy: RoutingPolicy) -> None:
        self._book = book
        self._policy = policy

    def plan(self, model: str, byok: common_pb2.ProviderCredential | None = None) -> list[Group]:
        primary = self._book.registry.resolve(model)
        gp = self._policy.group(primary)
        names = [primary, *gp.fallbacks] if gp.fallbacks else [primary, *self._chain_defaults(primary)]
        return self.groups(names, byok, first_is_primary=True)

    def groups(self, names: list[str] | tuple[str, ...], byok: common_pb2.ProviderCredential | None,
               first_is_primary: bool = False) -> list[Group]:
        out, seen = [], set()
        for i, name in enumerate(names):
            name = self._book.registry.resolve(name)
            if name in seen:
                continue
            seen.add(name)
            if i > 0 and byok is not None and byok.base_url:
                continue  # a customer's own endpoint serves exactly what they asked; nothing to fall back to
            targets = self._targets(name, byok)
            if targets:
                out.append(Group(name, self._policy.group(name), tuple(targets), not (first_is_primary and i == 0)))
        return out

    def _chain_defaults(self, primary: str) -> list[str]:
        """`provider_default_models` of the vendors after the primary's vendor in its default chain."""
        targets = self._book.registry.targets(primary)
        if not targets:
            return []
        vendor = targets[0].deployment.vendor
        chain = self._policy.provider_chains.get(vendor, ())
        models = self._policy.provider_default_models
        return [models[v] for v in chain if v != vendor and v in models and models[v] != primary]

    def _targets(self, name: str, byok: common_pb2.ProviderCredential | None) -> list[Target]:
        targets = self._book.registry.targets(name)
        if byok is None or not byok.provider:
            return list(targets)
        vendor = byok.provider
        if byok.base_url:
            if not targets and name != byok.model:
                return []
            dep = Deployment(name=f"byok:{vendor}", provider=_WIRE_BY_VENDOR.get(vendor, "openai"),
                             models=(ModelRoute(name, byok.model or name),), base_url=byok.base_url.rstrip("/"),
                             vendor=vendor, source="byok")
            return [Target(dep, byok.model or (targets[0].upstream_model if targets else name), byok.api_key)]
        return [Target(t.deployment, byok.model or t.upstream_model, byok.api_key,
                       family=t.family or ("" if not byok.model else t.upstream_model))
                for t in targets if t.deployment.byok_vendor == vendor]
