"""gRPC health that follows Redis: a service that cannot work without Redis says NOT_SERVING while Redis
does not answer, so load balancers and Kubernetes readiness send its traffic elsewhere until it is back."""
from __future__ import annotations

import asyncio
from collections.abc import Iterable

import structlog
from grpc_health.v1 import health

from services.common.cancellation import raise_if_cancelled
from services.common import redis_probe
from services.common.grpc_server import set_serving

log = structlog.get_logger()


class RedisHealth:
    """Pings Redis every `interval` seconds and sets the gRPC health of `names` (and "") accordingly.

    After `enter_graceful_shutdown()` the health servicer ignores updates, so draining always wins.
    """

    def __init__(self, redis, health_servicer: health.aio.HealthServicer, names: Iterable[str],
                 interval: float = 2.0, timeout: float = 1.0) -> None:
        self._redis = redis
        self._health = health_servicer
        self._names = tuple(names)
        self._interval = interval
        self._timeout = timeout
        self._task: asyncio.Task | None = None
        self.serving: bool | None = None

    async def check(self) -> bool:
        """One probe (a PING, or on a Cluster every master and cluster_state); updates the health status
        when it changed. True when Redis can serve."""
        state, detail = await redis_probe.probe(self._redis, self._timeout)
        ok = state == redis_probe.OK
        if not ok and self.serving is not False:
            log.warning("redis_unreachable", state=state, error=detail)
        if ok != self.serving:
            if ok and self.serving is False:
                log.info("redis_reachable_again")
            self.serving = ok
            await set_serving(self._health, self._names, ok)
        return ok

    async def start(self) -> bool:
        """Checks once (so the first status is the real one), then keeps checking in the background."""
        ok = await self.check()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="redis-health")
        return ok

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.check()
            raise_if_cancelled()  # check() catches its own timeout, which can swallow a cancel

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
