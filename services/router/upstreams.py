"""The live set of upstreams: static deployments merged with self-registered nodes, and one provider
(pooled connections) per deployment. Swapped atomically when the registry changes, so a request
holds one consistent `Registry` for its whole life.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from services.router.config import Deployment
from services.router.providers.base import Provider
from services.router.registry import Registry

log = structlog.get_logger()
ProviderFactory = Callable[[Deployment], Provider]
_CLOSE_GRACE = 30.0  # seconds a dropped node's connections stay usable by requests already on them


class UpstreamBook:
    def __init__(self, static: tuple[Deployment, ...], factory: ProviderFactory,
                 aliases: dict[str, str] | None = None) -> None:
        self._static = static
        self._factory = factory
        self._aliases = aliases or {}
        self._providers: dict[str, Provider] = {d.name: factory(d) for d in static}
        self._dynamic: dict[str, Deployment] = {}
        self._byok: dict[tuple[str, str], Provider] = {}
        self._closing: set[asyncio.Task] = set()
        self.registry = Registry(static, self._aliases)

    def provider(self, name: str) -> Provider:
        return self._providers[name]

    def byok_provider(self, dep: Deployment) -> Provider:
        """A provider for a customer's own base URL: one pooled client per (wire, URL), keys per request."""
        key = (dep.provider, dep.base_url)
        p = self._byok.get(key)
        if p is None:
            if len(self._byok) >= 256:
                self._retire(self._byok.pop(next(iter(self._byok))))
            p = self._byok[key] = self._factory(dep)
        return p

    def deployments(self) -> tuple[Deployment, ...]:
        return self.registry.deployments

    def apply_registered(self, nodes: list[Deployment]) -> None:
        """Merges the registered nodes: new ones get a provider, gone ones are retired after a grace."""
        fresh = {d.name: d for d in nodes if d.name not in {s.name for s in self._static}}
        if fresh == self._dynamic:
            return
        for name, dep in fresh.items():
            old = self._dynamic.get(name)
            if old != dep:
                if old is not None:
                    self._retire(self._providers.pop(name))
                self._providers[name] = self._factory(dep)
                log.info("upstream_node_added", deployment=name, models=[m.name for m in dep.models])
        for name in self._dynamic.keys() - fresh.keys():
            self._retire(self._providers.pop(name))
            log.info("upstream_node_dropped", deployment=name)
        self._dynamic = fresh
        self.registry = Registry(self._static + tuple(fresh.values()), self._aliases)

    def _retire(self, provider: Provider) -> None:
        async def later() -> None:
            await asyncio.sleep(_CLOSE_GRACE)
            await provider.aclose()

        task = asyncio.get_running_loop().create_task(later())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        for task in list(self._closing):
            task.cancel()
        for p in [*self._providers.values(), *self._byok.values()]:
            await p.aclose()
