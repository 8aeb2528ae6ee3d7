"""Runs the edge: aiohttp with handler cancellation (a client that leaves cancels its RPC), graceful stop."""
from __future__ import annotations

import structlog
from aiohttp import web

from services.common.grpc_server import wait_for_stop_signal
from services.edge.app import create_app
from services.edge.config import EdgeConfig

log = structlog.get_logger()


async def start(cfg: EdgeConfig) -> tuple[web.AppRunner, int]:
    """Starts serving; returns the runner and the bound port (port 0 picks a free one)."""
    runner = web.AppRunner(create_app(cfg), handler_cancellation=True, access_log=None,
                           shutdown_timeout=cfg.shutdown_grace)
    await runner.setup()
    site = web.TCPSite(runner, cfg.host, cfg.port, backlog=1024, reuse_address=True)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # aiohttp exposes no public accessor for the bound port
    return runner, port


async def serve(cfg: EdgeConfig) -> None:
    runner, port = await start(cfg)
    log.info("edge_started", url=f"http://{cfg.host}:{port}/v1")
    await wait_for_stop_signal()
    log.info("edge_draining", grace=cfg.shutdown_grace)
    await runner.cleanup()
    log.info("edge_stopped")
