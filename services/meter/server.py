"""Wires the meter (Redis, ledger, budgets, tiers) and serves it."""
from __future__ import annotations

from dataclasses import dataclass

import grpc
import redis.asyncio as redis
import structlog

from services.common import grpc_server, redis_conn
from services.meter.admission import Admitter
from services.meter.budgets import BudgetStore
from services.meter.config import MeterConfig
from services.meter.ledger import Ledger
from services.meter.recorder import Recorder
from services.meter.servicer import MeterServicer
from services.meter.tier_usage import TierUsage
from services.meter.usage_query import UsageQuery
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
    budgets = BudgetStore(client)
    recorder = Recorder(client, Ledger(client, cfg.pricing), budgets, cfg.tiers)
    admitter = Admitter(client, budgets, cfg.pricing, cfg.tiers, cfg.default_max_tokens,
                        int(cfg.reservation_ttl * 1000))
    servicer = MeterServicer(recorder, UsageQuery(client), admitter, budgets, cfg.tiers, TierUsage(client, budgets))
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
