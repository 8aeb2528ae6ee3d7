"""Which deployments serve a public model name: exact names first, then `prefix-*` families, after
resolving aliases. Immutable: `UpstreamBook` builds a new one when registered nodes come or go.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.router.config import Deployment


@dataclass(frozen=True)
class Target:
    """A deployment and the model name to send it."""

    deployment: Deployment
    upstream_model: str
    api_key: str | None = None
    """Per-request key (BYOK) that replaces the deployment's own; None: the deployment's key."""
    family: str = ""
    """The pattern (`fake-*`) when a family route serves the model: breakers and load signals are kept per
    pattern, so a client naming random models cannot grow them."""

    @property
    def name(self) -> str:
        return self.deployment.name

    @property
    def key(self) -> str:
        """The unit breakers and load signals track: one model on one deployment. A deployment that fails
        for one model (withdrawn, overloaded) may serve its others fine, so they are judged apart."""
        return f"{self.deployment.name}/{self.family or self.upstream_model}"


class Registry:
    def __init__(self, deployments: tuple[Deployment, ...], aliases: dict[str, str] | None = None) -> None:
        self.deployments = deployments
        self._aliases = dict(aliases or {})
        self._exact: dict[str, list[Target]] = {}
        self._families: list[tuple[str, Deployment]] = []
        self._owners: dict[str, str] = {}
        for dep in deployments:
            for route in dep.models:
                if route.name.endswith("*"):
                    self._families.append((route.name[:-1], dep))
                else:
                    self._exact.setdefault(route.name, []).append(Target(dep, route.upstream))
                    self._owners.setdefault(route.name, dep.vendor or dep.provider)
        # Longest prefix first, so `fake-slow-*` would win over `fake-*`.
        self._families.sort(key=lambda f: len(f[0]), reverse=True)
        self._cache: dict[str, list[Target]] = {}

    def resolve(self, model: str) -> str:
        """The canonical group name for `model` (aliases resolved)."""
        return self._aliases.get(model, model)

    def targets(self, model: str) -> list[Target]:
        """Deployments for `model` in config order; empty when nobody serves it."""
        model = self.resolve(model)
        found = self._exact.get(model)
        if found is not None:
            return found
        cached = self._cache.get(model)
        if cached is not None:
            return cached
        found = [Target(dep, model, family=prefix + "*") for prefix, dep in self._families if model.startswith(prefix)]
        if found and len(self._cache) < 4096:
            self._cache[model] = found
        return found

    def patterns(self) -> list[str]:
        """The `prefix*` families served, longest prefix first."""
        return list(dict.fromkeys(prefix + "*" for prefix, _ in self._families))

    def models(self) -> list[tuple[str, str]]:
        """(public name, owner) for every exactly named model and alias."""
        listed = dict(self._owners)
        for alias, name in self._aliases.items():
            if name in listed:
                listed.setdefault(alias, listed[name])
        return sorted(listed.items())
