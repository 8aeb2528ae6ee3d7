"""Self-registering upstream nodes, shared in Redis so every router replica sees the same fleet.

A node registers its URL, models and capacity with a TTL, then heartbeats. Each registration is one
key `ty:{reg}:node:<id>` with a TTL (Redis expires it, no sweeper needed) plus an index set
`ty:{reg}:nodes`; one hash tag, so the pipelines work on Redis Cluster. Every router polls every
`poll` seconds (one pipelined round trip) and swaps its registry when the set changed; ids whose key
expired are pruned from the index. When Redis is unreachable the last known nodes stay in service.

Provider keys are never stored: a registered node is an OpenAI-compatible (or Anthropic) server the
operator runs, reached without a key, or with the router's own config for that URL. A node has no vendor
(its wire format says nothing about who runs it), so it never receives a customer's own key (BYOK).
"""
from __future__ import annotations

import asyncio

import orjson
import structlog
from redis import exceptions as redis_errors

from services.common.cancellation import raise_if_cancelled
from services.common.errors import GatewayError
from services.common.outbound import OutboundPolicy
from services.router.config import Deployment, ModelRoute
from services.router.upstreams import UpstreamBook

log = structlog.get_logger()
INDEX = "ty:{reg}:nodes"
NODE = "ty:{reg}:node:"
DEFAULT_TTL = 15
_ERRORS = (redis_errors.RedisError, OSError, asyncio.TimeoutError)


def deployment_name(node_id: str) -> str:
    return f"node:{node_id}"


class RegistrationError(ValueError):
    """A registration request is malformed; the message names the field."""


class NodeRegistry:
    def __init__(self, redis, outbound: OutboundPolicy | None = None) -> None:
        self._redis = redis
        self._outbound = outbound or OutboundPolicy()

    async def register(self, node_id: str, base_url: str, provider: str, models: list[str], capacity: int,
                       weight: float, ttl: int, region: str = "", tier: str = "") -> tuple[str, int]:
        if not node_id or len(node_id) > 200:
            raise RegistrationError("node_id: required, at most 200 characters")
        if not base_url.startswith(("http://", "https://")):
            raise RegistrationError("base_url: must start with http:// or https://")
        try:
            await self._outbound.check_url(base_url, "base_url")
        except GatewayError as exc:
            raise RegistrationError(f"base_url: {exc.message}") from None
        if provider not in ("openai", "anthropic"):
            raise RegistrationError("provider: must be `openai` or `anthropic`")
        if not models or not all(models):
            raise RegistrationError("models: at least one model name")
        if capacity < 0 or weight < 0 or ttl < 0:
            raise RegistrationError("capacity, weight and ttl_seconds must not be negative")
        ttl = ttl or DEFAULT_TTL
        doc = {"id": node_id, "base_url": base_url.rstrip("/"), "provider": provider, "models": list(models),
               "capacity": capacity, "weight": weight or 1.0, "ttl": ttl, "region": region, "tier": tier}
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(NODE + node_id, orjson.dumps(doc), ex=ttl)
        pipe.sadd(INDEX, node_id)
        await pipe.execute()
        log.info("upstream_node_registered", node_id=node_id, models=models, ttl=ttl)
        return deployment_name(node_id), ttl

    async def heartbeat(self, node_id: str, ttl: int = 0) -> bool:
        raw = await self._redis.get(NODE + node_id)
        if raw is None:
            return False
        return bool(await self._redis.expire(NODE + node_id, ttl or orjson.loads(raw)["ttl"]))

    async def deregister(self, node_id: str) -> bool:
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(NODE + node_id)
        pipe.srem(INDEX, node_id)
        removed, _ = await pipe.execute()
        return bool(removed)

    async def load(self) -> list[Deployment]:
        """Every live node as a deployment; prunes index entries whose key expired."""
        ids = sorted(i.decode() for i in await self._redis.smembers(INDEX))
        if not ids:
            return []
        docs = await self._redis.mget([NODE + i for i in ids])
        expired = [i for i, d in zip(ids, docs) if d is None]
        if expired:
            await self._redis.srem(INDEX, *expired)
        return [_deployment(orjson.loads(d)) for d in docs if d is not None]


def _deployment(doc: dict) -> Deployment:
    return Deployment(name=deployment_name(doc["id"]), provider=doc["provider"],
                      models=tuple(ModelRoute(m, m) for m in doc["models"]), base_url=doc["base_url"],
                      max_concurrency=int(doc.get("capacity") or 0), weight=float(doc.get("weight") or 1.0),
                      vendor="", region=doc.get("region", ""), tier=doc.get("tier", ""),
                      source="registered")


class RegistryPoller:
    """Keeps an `UpstreamBook` in step with the shared registry. An outage is logged when it starts (and
    when its cause changes) and when it ends, not at every poll: a second's poll would otherwise write
    the same warning 3,600 times an hour (e.g. MOVED from a Cluster reached without a cluster URL)."""

    def __init__(self, registry: NodeRegistry, book: UpstreamBook, poll: float = 1.0) -> None:
        self._registry = registry
        self._book = book
        self._poll = poll
        self._task: asyncio.Task | None = None
        self._failing: str | None = None
        self.failed_polls = 0

    async def refresh(self) -> None:
        try:
            async with asyncio.timeout(2.0):
                nodes = await self._registry.load()
        except _ERRORS as exc:
            self.failed_polls += 1
            cause = type(exc).__name__
            if cause != self._failing:
                log.warning("upstream_registry_unreachable_keeping_last_nodes", error=cause, detail=str(exc)[:200])
                self._failing = cause
            return
        if self._failing is not None:
            log.info("upstream_registry_reachable_again", failed_polls=self.failed_polls)
            self._failing, self.failed_polls = None, 0
        self._book.apply_registered(nodes)

    def start(self) -> None:
        async def loop() -> None:
            while True:
                await self.refresh()
                raise_if_cancelled()  # refresh() catches its own timeout, which can swallow a cancel
                await asyncio.sleep(self._poll)

        self._task = asyncio.get_running_loop().create_task(loop(), name="registry-poller")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
