"""A real router (gRPC on port 0) with an escalation section and prices, against a fake meter and real Redis."""
from __future__ import annotations

import random

import grpc

from services.common import grpc_server
from services.common.pricing import PriceBook
from services.router.config import RouterConfig
from services.router.config_parse import parse_deployment
from services.router.escalation.config import EscalationConfig
from services.router.policy import parse_routing
from services.router.server import create_server
from tests.integration.router_harness import FakeMeter, Router
from tokenyard.meter.v1 import meter_pb2_grpc
from tokenyard.router.v1 import router_pb2_grpc

PRICES = {"models": {"fake-cheap": {"input": 0.1, "output": 0.4}, "fake-refuse": {"input": 0.1, "output": 0.4},
                     "fake-empty": {"input": 0.1, "output": 0.4}, "fake-json-bad": {"input": 0.1, "output": 0.4},
                     "fake-mid": {"input": 1, "output": 4}, "fake-json-mid": {"input": 1, "output": 4},
                     "fake-top": {"input": 10, "output": 40}, "fake-json-top": {"input": 10, "output": 40}}}


def section(fast: str = "fake-cheap", medium: str = "fake-mid", top: str = "fake-top", **extra) -> dict:
    return {"tiers": [{"name": "fast", "model": fast}, {"name": "medium", "model": medium},
                      {"name": "external", "model": top}],
            "task_types": {"default": {}, "classify": {}}, "learning": {"min_samples": 1}, **extra}


async def start(redis, esc: dict, prices: dict | None = None) -> tuple[Router, router_pb2_grpc.EscalationServiceStub]:
    meter = FakeMeter()
    meter_server, _, meter_port = grpc_server.create_server(
        [lambda s: meter_pb2_grpc.add_MeterServiceServicer_to_server(meter, s)], [], "127.0.0.1:0")
    await meter_server.start()
    deps = (parse_deployment("deployments[0]", {"name": "fake", "provider": "fake", "models": ["fake-*"]}, {}),)
    cfg = RouterConfig(deployments=deps, routing=parse_routing(None), listen="127.0.0.1:0",
                       meter_addr=f"127.0.0.1:{meter_port}", prices=PriceBook.from_config(prices or PRICES),
                       escalation=EscalationConfig.from_config(esc))
    app = create_server(cfg, redis=redis, rng=random.Random(7))
    await app.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
    router = Router(app, channel, router_pb2_grpc.RouterServiceStub(channel), meter, meter_server)
    return router, router_pb2_grpc.EscalationServiceStub(channel)
