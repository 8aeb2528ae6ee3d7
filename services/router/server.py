"""Wires the router (providers, registry, meter channel, reporter) and serves it."""
from __future__ import annotations

from dataclasses import dataclass

import grpc
import structlog

from services.common import grpc_server
from services.router.chat import ChatRunner
from services.router.config import Deployment, RouterConfig
from services.router.providers.base import Provider
from services.router.providers.fake import FakeProvider
from services.router.providers.openai_chat import OpenAIChatProvider
from services.router.registry import Registry
from services.router.servicer import RouterServicer
from services.router.tokens import TokenCounter
from services.router.usage_reporter import UsageReporter
from tokenyard.meter.v1 import meter_pb2_grpc
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

log = structlog.get_logger()
SERVICE_NAMES = (router_pb2.DESCRIPTOR.services_by_name["RouterService"].full_name,)


def build_provider(dep: Deployment, counter: TokenCounter) -> Provider:
    if dep.provider == "fake":
        return FakeProvider(counter)
    return OpenAIChatProvider(dep)


@dataclass
class RouterApp:
    server: grpc.aio.Server
    health: object
    port: int
    reporter: UsageReporter
    providers: dict[str, Provider]
    meter_channel: grpc.aio.Channel

    async def start(self) -> None:
        self.reporter.start()
        await self.server.start()
        await grpc_server.set_serving(self.health, SERVICE_NAMES, True)

    async def stop(self, grace: float) -> None:
        await grpc_server.drain(self.server, self.health, grace)
        await self.reporter.close()
        for provider in self.providers.values():
            await provider.aclose()
        await self.meter_channel.close()


def create_server(cfg: RouterConfig, counter: TokenCounter | None = None) -> RouterApp:
    counter = counter or TokenCounter()
    registry = Registry(cfg.deployments)
    providers = {dep.name: build_provider(dep, counter) for dep in cfg.deployments}
    meter_channel = grpc.aio.insecure_channel(cfg.meter_addr, options=grpc_server.CHANNEL_OPTIONS)
    reporter = UsageReporter(meter_pb2_grpc.MeterServiceStub(meter_channel))
    runner = ChatRunner(registry, providers, reporter, counter)
    servicer = RouterServicer(runner, registry)
    server, health, port = grpc_server.create_server(
        [lambda s: router_pb2_grpc.add_RouterServiceServicer_to_server(servicer, s)], SERVICE_NAMES, cfg.listen)
    return RouterApp(server, health, port, reporter, providers, meter_channel)


async def serve(cfg: RouterConfig) -> None:
    app = create_server(cfg)
    await app.start()
    log.info("router_started", port=app.port, deployments=[d.name for d in cfg.deployments])
    await grpc_server.wait_for_stop_signal()
    log.info("router_draining", grace=cfg.shutdown_grace)
    await app.stop(cfg.shutdown_grace)
    log.info("router_stopped")
