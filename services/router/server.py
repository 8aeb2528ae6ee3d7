"""Wires the router (upstreams, breakers, dispatcher, runners, meter channel, Redis) and serves it."""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import grpc
import structlog

from services.common import grpc_server, redis_conn
from services.common.channels import open_channel
from services.common.metrics import Metrics
from services.common.outbound import OutboundPolicy
from services.common.pricing import PriceBook
from services.common.serving import serve_until_stopped
from services.common.tracing import Tracing
from services.router.backoff import HedgeBudget
from services.router.balancer import Balancer
from services.router.breaker import BreakerStore
from services.router.chat import ChatRunner
from services.router.config import Deployment, RouterConfig
from services.router.dispatcher import Dispatcher
from services.router.embed import EmbedRunner
from services.router.escalation import wiring as escalation_wiring
from services.router.health import HealthReporter
from services.router.metering import Metering
from services.router.node_registry import NodeRegistry, RegistryPoller
from services.router.observe import AttemptObserver
from services.router.plan import Planner
from services.router.providers.anthropic_messages import AnthropicMessagesProvider
from services.router.providers.base import Provider
from services.router.providers.fake import FakeProvider
from services.router.providers.openai_chat import OpenAIChatProvider
from services.router.servicer import RouterServicer
from services.router.stats import LocalStats
from services.router.tokens import TokenCounter
from services.router.token_count import TokenCountRunner
from services.router.upstreams import UpstreamBook
from services.router.usage_reporter import UsageReporter
from tokenyard.meter.v1 import meter_pb2_grpc
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

log = structlog.get_logger()
SERVICE_NAMES = (router_pb2.DESCRIPTOR.services_by_name["RouterService"].full_name,
                 router_pb2.DESCRIPTOR.services_by_name["EscalationService"].full_name)


def build_provider(dep: Deployment, counter: TokenCounter, trace_configs: list | None = None,
                   outbound: OutboundPolicy | None = None) -> Provider:
    """`outbound` guards the connections of upstreams a tenant or caller named (BYOK URLs, registered
    nodes); the operator's own deployments connect wherever the config says."""
    if dep.provider == "fake":
        return FakeProvider(counter)
    guard = outbound.socket_factory if outbound is not None and dep.source != "static" else None
    if dep.provider == "anthropic":
        return AnthropicMessagesProvider(dep, trace_configs=trace_configs, socket_factory=guard)
    return OpenAIChatProvider(dep, trace_configs=trace_configs, socket_factory=guard)


@dataclass
class RouterApp:
    server: grpc.aio.Server
    health: object
    port: int
    reporter: UsageReporter
    book: UpstreamBook
    breakers: BreakerStore
    poller: RegistryPoller | None
    meter_channel: grpc.aio.Channel
    redis: object
    learning: object = None
    """Scheduled learning cycles (issue 9), when Redis is configured."""

    async def start(self) -> None:
        if self.redis is not None:
            await redis_conn.warm(self.redis)
        self.reporter.start()
        if self.learning is not None:
            self.learning.start()
        self.breakers.start()
        if self.poller is not None:
            await self.poller.refresh()
            self.poller.start()
        await self.server.start()
        await grpc_server.set_serving(self.health, SERVICE_NAMES, True)

    async def stop(self, grace: float) -> None:
        await grpc_server.drain(self.server, self.health, grace)
        if self.learning is not None:
            await self.learning.aclose()
        if self.poller is not None:
            await self.poller.aclose()
        await self.reporter.close()
        await self.breakers.aclose()
        await self.book.aclose()
        await self.meter_channel.close()
        if self.redis is not None:
            await self.redis.aclose()


def create_server(cfg: RouterConfig, counter: TokenCounter | None = None, redis=None, registry_poll: float = 1.0,
                  prices: PriceBook | None = None, rng: random.Random | None = None,
                  sleep=asyncio.sleep, tracing: Tracing | None = None, metrics: Metrics | None = None,
                  clock=time.time, monotonic=time.monotonic, shift_ms=lambda: 0) -> RouterApp:
    """`redis`: a client to use (tests); otherwise one is made from `cfg.redis_url` when set.
    `tracing`: off by default. `metrics`: when given, RPC metrics and breaker states are recorded in it.
    `clock`/`monotonic`: injected by tests that move time (breaker cooldowns, balancing decay);
    `shift_ms` moves Redis's clock for the shared breakers the same way (0 in service)."""
    tracing = tracing or Tracing()
    counter = counter or TokenCounter()
    if redis is None and cfg.redis_url:
        redis = redis_conn.connect(cfg.redis_url)
    policy = cfg.routing
    http_tracing = tracing.http_trace_configs()
    book = UpstreamBook(cfg.deployments, lambda d: build_provider(d, counter, http_tracing, cfg.outbound),
                        {**cfg.tier_models, **policy.aliases()})
    stats = LocalStats(monotonic)
    breakers = BreakerStore(redis, policy.breaker, clock=clock, shift_ms=shift_ms)
    planner = Planner(book, policy)
    dispatcher = Dispatcher(planner, policy, breakers, stats, Balancer(stats, rng),
                            HedgeBudget(policy.hedge_budget), rng=rng, sleep=sleep, monotonic=monotonic, clock=clock,
                            observer=AttemptObserver(tracing.tracer if tracing.enabled else None, metrics))
    if metrics is not None and cfg.model_labels is not None:
        metrics.model_label = cfg.model_labels
    if metrics is not None:
        metrics.watch_breakers(lambda: {key: seen[0] for key, seen in breakers.seen.items()})
    meter_channel = open_channel(cfg.meter_addr, cfg.security, tracing)
    reporter = UsageReporter(meter_pb2_grpc.MeterServiceStub(meter_channel))
    prices = prices if prices is not None else cfg.prices
    log_unpriced(prices)
    metering = Metering(reporter, counter, prices)
    runner = ChatRunner(book, dispatcher, metering, monotonic, limits=cfg.limits, outbound=cfg.outbound)
    embedder = EmbedRunner(runner.book_provider, dispatcher, metering, monotonic, outbound=cfg.outbound, limits=cfg.limits)
    nodes = NodeRegistry(redis, cfg.outbound) if redis is not None else None
    poller = RegistryPoller(nodes, book, registry_poll) if nodes is not None else None
    escalation = escalation_wiring.build(cfg.escalation, runner, prices, redis)
    servicer = RouterServicer(runner, embedder, book, HealthReporter(book, breakers, stats, policy.breaker), nodes,
                              escalation.servicer, planner, max_answer_bytes=cfg.limits.max_answer_bytes,
                              counter=TokenCountRunner(book, counter))
    server, health, port = grpc_server.create_server(
        [lambda s: router_pb2_grpc.add_RouterServiceServicer_to_server(servicer, s),
         lambda s: router_pb2_grpc.add_EscalationServiceServicer_to_server(escalation.servicer, s)],
        SERVICE_NAMES, cfg.listen,
        tracing.server_interceptors(metrics), cfg.security)
    return RouterApp(server, health, port, reporter, book, breakers, poller, meter_channel, redis,
                     escalation.scheduler)


def log_unpriced(prices: PriceBook) -> None:
    """One line per model that has no price on a deployment: its cost will show as unknown, and keys with
    a budget cannot use it until the operator prices it (or declares it free) in the config."""
    by_model: dict[str, list[str]] = {}
    for deployment, model in prices.unpriced():
        by_model.setdefault(model, []).append(deployment)
    for model, deployments in by_model.items():
        log.warning("model_price_unknown", model=model, deployments=deployments,
                    hint="price it under pricing: (or declare it free: {input: 0, output: 0}); "
                         "keys with a budget cannot use it until then")


async def serve(cfg: RouterConfig) -> None:
    await serve_until_stopped(
        "router", lambda tracing, metrics: create_server(cfg, tracing=tracing, metrics=metrics), cfg.shutdown_grace,
        lambda app: {"deployments": [d.name for d in cfg.deployments],
                     "shared_state": "redis" if cfg.redis_url else "local (REDIS_URL unset)"})
