"""Wires the meter (Redis, ledger, budgets, tiers) and serves it."""
from __future__ import annotations

from dataclasses import dataclass

import grpc
import redis.asyncio as redis
import structlog

from services.common import grpc_server, redis_conn
from services.common.health import RedisHealth
from services.common.metrics import Metrics
from services.common.serving import serve_until_stopped
from services.common.tracing import Tracing
from services.meter.admission import Admitter
from services.meter.budgets import BudgetStore
from services.meter.config import MeterConfig
from services.meter.ledger import Ledger
from services.meter.recorder import Recorder
from services.meter.requestlog.agent_health import AgentHealth, AgentHealthMetrics
from services.meter.requestlog.log import RequestLog, encode_row
from services.meter.requestlog.writer import RequestLogMetrics, RequestLogWriter
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
    redis_health: RedisHealth
    request_log: RequestLogWriter
    agent_health: AgentHealth

    async def start(self) -> None:
        await redis_conn.warm(self.redis)
        await self.request_log.start()
        self.agent_health.start()
        await self.server.start()
        await self.redis_health.start()  # SERVING only once Redis answers (and NOT_SERVING while it does not)

    async def stop(self, grace: float) -> None:
        await self.redis_health.aclose()
        await grpc_server.drain(self.server, self.health, grace)
        await self.agent_health.aclose()
        await self.request_log.aclose()
        await self.redis.aclose()


def create_server(cfg: MeterConfig, client: redis.Redis | None = None, tracing: Tracing | None = None,
                  metrics: Metrics | None = None) -> MeterApp:
    """`tracing`: off by default; `metrics`: when given, RPC metrics are recorded in it."""
    tracing = tracing or Tracing()
    client = client or redis_conn.connect(cfg.redis_url)
    budgets = BudgetStore(client, cfg.dedup_ttl)
    writer = RequestLogWriter(cfg.request_log.open_store(), cfg.request_log,
                              RequestLogMetrics(metrics.registry) if metrics is not None else None, encode=encode_row)
    request_log = RequestLog(writer)
    agent_health = AgentHealth(writer.store, AgentHealthMetrics(metrics.registry) if metrics is not None else None)
    ledger = Ledger(client, cfg.pricing, cfg.dedup_ttl, cfg.subject_ttl, cfg.aggregate_ttl)
    recorder = Recorder(client, ledger, budgets, cfg.tiers, request_log)
    admitter = Admitter(client, budgets, cfg.pricing, cfg.tiers, cfg.default_max_tokens,
                        int(cfg.reservation_ttl * 1000))
    servicer = MeterServicer(recorder, UsageQuery(client), admitter, budgets, cfg.tiers, TierUsage(client, budgets),
                             request_log, agent_health)
    server, health, port = grpc_server.create_server(
        [lambda s: meter_pb2_grpc.add_MeterServiceServicer_to_server(servicer, s)], SERVICE_NAMES, cfg.listen,
        tracing.server_interceptors(metrics), cfg.security)
    return MeterApp(server, health, port, client, RedisHealth(client, health, SERVICE_NAMES), writer,
                    agent_health)


async def serve(cfg: MeterConfig) -> None:
    await serve_until_stopped("meter", lambda tracing, metrics: create_server(cfg, tracing=tracing, metrics=metrics),
                              cfg.shutdown_grace)
