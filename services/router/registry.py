"""Which deployments serve a public model name (exact names first, then `prefix-*` families)."""
from __future__ import annotations

from dataclasses import dataclass

from services.router.config import Deployment


@dataclass(frozen=True)
class Target:
    """A deployment and the model name to send it."""

    deployment: Deployment
    upstream_model: str


class Registry:
    def __init__(self, deployments: tuple[Deployment, ...]) -> None:
        self._exact: dict[str, list[Target]] = {}
        self._families: list[tuple[str, Deployment]] = []
        self._owners: dict[str, str] = {}
        for dep in deployments:
            for route in dep.models:
                if route.name.endswith("*"):
                    self._families.append((route.name[:-1], dep))
                else:
                    self._exact.setdefault(route.name, []).append(Target(dep, route.upstream))
                    self._owners.setdefault(route.name, dep.provider)
        # Longest prefix first, so `fake-slow-*` would win over `fake-*`.
        self._families.sort(key=lambda f: len(f[0]), reverse=True)
        self._cache: dict[str, list[Target]] = {}

    def targets(self, model: str) -> list[Target]:
        """Deployments for `model` in preference order; empty when nobody serves it."""
        found = self._exact.get(model)
        if found is not None:
            return found
        cached = self._cache.get(model)
        if cached is not None:
            return cached
        found = [Target(dep, model) for prefix, dep in self._families if model.startswith(prefix)]
        if found and len(self._cache) < 4096:
            self._cache[model] = found
        return found

    def models(self) -> list[tuple[str, str]]:
        """(public name, owner) for every exactly named model."""
        return sorted(self._owners.items())
