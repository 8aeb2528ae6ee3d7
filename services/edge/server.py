"""Runs the edge: aiohttp with handler cancellation (a client that leaves cancels its RPC), graceful stop.

On SIGTERM: `/readyz` turns 503 (load balancers stop sending), the listener closes, and in-flight
requests and streams get `TOKENYARD_SHUTDOWN_GRACE` seconds to finish before they are cancelled.
"""
from __future__ import annotations

import asyncio

import structlog
from aiohttp import web

from services.common.grpc_server import wait_for_stop_signal
from services.common.metrics import Metrics, MetricsServer
from services.common.tracing import Tracing
from services.edge.app import READINESS, create_app
from services.edge.config import EdgeConfig

log = structlog.get_logger()


async def start(cfg: EdgeConfig, tracing: Tracing | None = None,
                metrics: Metrics | None = None) -> tuple[web.AppRunner, int]:
    """Starts serving; returns the runner and the bound port (port 0 picks a free one)."""
    runner = web.AppRunner(create_app(cfg, tracing, metrics), handler_cancellation=True, access_log=None,
                           shutdown_timeout=cfg.shutdown_grace,
                           # aiohttp closes a connection whose request headers are not complete within
                           # its keep-alive timeout (default about an hour): that is the header timeout.
                           keepalive_timeout=cfg.header_timeout)
    await runner.setup()
    site = web.TCPSite(runner, cfg.host, cfg.port, backlog=1024, reuse_address=True)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # aiohttp exposes no public accessor for the bound port
    return runner, port


async def serve(cfg: EdgeConfig) -> None:
    tracing = Tracing.from_env("edge")
    metrics = Metrics()
    runner, port = await start(cfg, tracing, metrics)
    internal = MetricsServer.from_env("edge", metrics)
    if internal is not None:  # `/metrics` without a key, on a port the public never reaches
        await internal.start()
    log.info("edge_started", url=f"http://{cfg.host}:{port}/v1", tracing=tracing.enabled,
             metrics_port=internal.port if internal is not None else None)
    await wait_for_stop_signal()
    log.info("edge_draining", grace=cfg.shutdown_grace)
    runner.app[READINESS].draining = True
    await runner.cleanup()
    if internal is not None:
        await internal.stop()
    await asyncio.to_thread(tracing.shutdown)
    log.info("edge_stopped")
