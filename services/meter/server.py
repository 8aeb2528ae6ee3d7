"""Wires the meter (Redis, ledger) and serves it."""
from __future__ import annotations

from dataclasses import dataclass

import grpc
import redis.asyncio as redis
import structlog

from services.common import grpc_server, redis_conn
from services.meter.config import MeterConfig
from services.meter.ledger import Ledger
from services.meter.servicer import MeterServicer
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

log = structlog.get_logger()
SERVICE_NAMES = (meter_pb2.DESCRIPTOR.services_by_name["MeterService"].full_name,)


@dataclass
class MeterApp:
    server: grpc.aio.Server
    health: object
    port: int
    redis: redis.Redis

    async def start(self) -> None:
        await self.server.start()
        await grpc_server.set_serving(self.health, SERVICE_NAMES, True)

    async def stop(self, grace: float) -> None:
        await grpc_server.drain(self.server, self.health, grace)
        await self.redis.aclose()


def create_server(cfg: MeterConfig, client: redis.Redis | None = None) -> MeterApp:
    client = client or redis_conn.connect(cfg.redis_url)
    servicer = MeterServicer(Ledger(client))
    server, health, port = grpc_server.create_server(
        [lambda s: meter_pb2_grpc.add_MeterServiceServicer_to_server(servicer, s)], SERVICE_NAMES, cfg.listen)
    return MeterApp(server, health, port, client)


async def serve(cfg: MeterConfig) -> None:
    app = create_server(cfg)
    await app.start()
    log.info("meter_started", port=app.port)
    await grpc_server.wait_for_stop_signal()
    await app.stop(cfg.shutdown_grace)
    log.info("meter_stopped")
