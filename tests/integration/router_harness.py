"""Runs a real router gRPC server on port 0 against a fake meter, for the router integration tests."""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import grpc

from services.common import grpc_server
from services.common.outbound import OutboundPolicy
from services.router.config import RouterConfig
from services.router.config_parse import parse_deployment
from services.router.policy import parse_routing
from services.router.server import RouterApp, create_server
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc
from tokenyard.router.v1 import router_pb2, router_pb2_grpc


class FakeMeter(meter_pb2_grpc.MeterServiceServicer):
    """Keeps the usage records it is sent, once per request id (as the real meter does)."""

    def __init__(self) -> None:
        self.records: dict[str, meter_pb2.UsageRecord] = {}

    async def RecordUsage(self, request, context):
        new = 0
        for r in request.records:
            if r.request_id not in self.records:
                self.records[r.request_id] = r
                new += 1
        return meter_pb2.RecordUsageResponse(recorded=new, duplicates=len(request.records) - new)


@dataclass
class Router:
    app: RouterApp
    channel: grpc.aio.Channel
    stub: router_pb2_grpc.RouterServiceStub
    meter: FakeMeter
    meter_server: grpc.aio.Server
    extra: list = field(default_factory=list)

    async def chat(self, model: str, text: str = "hi", request_id: str = "", timeout: float = 20, **fields):
        """(content, final) of one streamed chat; raises grpc.aio.AioRpcError on failure."""
        req = router_pb2.ChatRequest(model=model, request_id=request_id,
                                     messages=[router_pb2.Message(role="user", content=text)], **fields)
        content, final = [], None
        async for msg in self.stub.Chat(req, timeout=timeout):
            for d in msg.deltas:
                content.append(d.content)
            if msg.HasField("final"):
                final = msg.final
        return "".join(content), final

    async def wait_records(self, n: int, timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while len(self.meter.records) < n and loop.time() < end:
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        await self.channel.close()
        await self.app.stop(0.5)
        await self.meter_server.stop(0)


async def start_router(deployments: list[dict], routing: dict | None = None, redis=None, poll: float = 0.2,
                       seed: int = 7, sleep=asyncio.sleep, outbound: OutboundPolicy | None = None,
                       **clocks) -> Router:
    """`outbound`: the policy for BYOK URLs and registered nodes; by default loopback is allow-listed, since
    every fake upstream of these tests listens there. `clocks`: `clock=` and `monotonic=` for tests that
    move time."""
    meter = FakeMeter()
    meter_server, _, meter_port = grpc_server.create_server(
        [lambda s: meter_pb2_grpc.add_MeterServiceServicer_to_server(meter, s)], [], "127.0.0.1:0")
    await meter_server.start()
    deps = tuple(parse_deployment(f"deployments[{i}]", d, {}) for i, d in enumerate(deployments))
    cfg = RouterConfig(deployments=deps, routing=parse_routing(routing), listen="127.0.0.1:0",
                       meter_addr=f"127.0.0.1:{meter_port}",
                       outbound=outbound if outbound is not None else OutboundPolicy(allow=("127.0.0.0/8",)))
    app = create_server(cfg, redis=redis, registry_poll=poll, rng=random.Random(seed), sleep=sleep, **clocks)
    await app.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
    return Router(app, channel, router_pb2_grpc.RouterServiceStub(channel), meter, meter_server)


def openai_dep(name: str, upstream, models: list[str], **extra) -> dict:
    return {"name": name, "provider": "openai", "base_url": upstream.base_url, "models": models,
            "timeouts": {"connect": 1, "first_token": 5, "total": 20}, **extra}
