"""The life of a gRPC service process, the same for router, meter and runtime: build with tracing and
metrics from the environment, serve until SIGTERM/SIGINT, drain within the grace period, flush spans."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

import structlog

from services.common.grpc_server import wait_for_stop_signal
from services.common.metrics import Metrics, MetricsServer, metrics_port
from services.common.tracing import Tracing

log = structlog.get_logger()


class ServiceApp(Protocol):
    port: int

    async def start(self) -> None: ...
    async def stop(self, grace: float) -> None: ...


async def serve_until_stopped(name: str, build: Callable[[Tracing, Metrics | None], ServiceApp], grace: float,
                              started: Callable[[ServiceApp], dict] = lambda app: {}) -> None:
    """`build(tracing, metrics)` wires the service (metrics is None when no metrics port is set)."""
    tracing = Tracing.from_env(name)
    # The registry (and prometheus_client with it) only when something will serve it.
    metrics = Metrics() if metrics_port(name) else None
    metrics_server = MetricsServer.from_env(name, metrics) if metrics is not None else None
    app = build(tracing, metrics)
    if metrics_server is not None:
        await metrics_server.start()
    await app.start()
    log.info(f"{name}_started", port=app.port, tracing=tracing.enabled, **started(app))
    await wait_for_stop_signal()
    log.info(f"{name}_draining", grace=grace)
    await app.stop(grace)
    if metrics_server is not None:
        await metrics_server.stop()
    await asyncio.to_thread(tracing.shutdown)
    log.info(f"{name}_stopped")
