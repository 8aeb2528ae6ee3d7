"""Builds the edge's aiohttp application: routes, middleware, and one gRPC channel per peer."""
from __future__ import annotations

import grpc
from aiohttp import web

from services.common import grpc_server
from services.edge.chat import ChatHandler
from services.edge.config import EdgeConfig
from services.edge.middleware import make_middleware
from services.edge.models_api import ModelsHandler
from services.edge.usage_api import UsageHandler
from tokenyard.meter.v1 import meter_pb2_grpc
from tokenyard.router.v1 import router_pb2_grpc

CHANNELS = web.AppKey("channels", list)


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(cfg: EdgeConfig) -> web.Application:
    # Channels are long-lived, one per peer per process; gRPC reconnects them on its own.
    router_channel = grpc.aio.insecure_channel(cfg.router_addr, options=grpc_server.CHANNEL_OPTIONS)
    meter_channel = grpc.aio.insecure_channel(cfg.meter_addr, options=grpc_server.CHANNEL_OPTIONS)
    router = router_pb2_grpc.RouterServiceStub(router_channel)
    chat = ChatHandler(cfg, router)
    models = ModelsHandler(router)
    usage = UsageHandler(meter_pb2_grpc.MeterServiceStub(meter_channel))

    app = web.Application(client_max_size=cfg.max_body_bytes, middlewares=[make_middleware(cfg.master_key)])
    app[CHANNELS] = [router_channel, meter_channel]
    app.router.add_post("/v1/chat/completions", chat.handle)
    app.router.add_get("/v1/models", models.list)
    app.router.add_get("/v1/models/{model:.+}", models.retrieve)
    app.router.add_get("/api/v1/usage", usage.get)
    app.router.add_get("/healthz", _healthz)

    async def close_channels(app: web.Application) -> None:
        for channel in app[CHANNELS]:
            await channel.close()

    app.on_cleanup.append(close_channels)
    return app
