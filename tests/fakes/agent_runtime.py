"""Runs a real runtime gRPC server in the test's event loop (port 0), against a fake router."""
from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc

from services.common.outbound import OutboundPolicy
from services.runtime.config import RuntimeConfig
from services.runtime.server import RuntimeApp, create_server
from tests.fakes.agent_router import FakeRouter, start_fake_router
from tokenyard.runtime.v1 import runtime_pb2_grpc

ENCRYPTION_KEY = base64.b64encode(os.urandom(32)).decode()


@dataclass
class RuntimeUnderTest:
    app: RuntimeApp
    stub: runtime_pb2_grpc.RuntimeServiceStub
    router: FakeRouter
    cfg: RuntimeConfig


def runtime_config(redis_url: str, tmp: Path, router_port: int = 1, **overrides) -> RuntimeConfig:
    cfg = RuntimeConfig(redis_url=redis_url, listen="127.0.0.1:0", router_addr=f"127.0.0.1:{router_port}",
                        edge_url="http://127.0.0.1:9", encryption_key=ENCRYPTION_KEY, state_dir=tmp / "state",
                        drive_path=tmp / "drive", shutdown_grace=1.0,
                        # The fake remote agents and BYOK servers of these tests listen on loopback.
                        outbound=OutboundPolicy(allow=("127.0.0.0/8",)))
    return replace(cfg, **overrides)


@contextlib.asynccontextmanager
async def running_runtime(redis_url: str, tmp: Path, stop_agents: bool = True, **overrides) -> AsyncIterator[RuntimeUnderTest]:
    router_server, fake, router_port = await start_fake_router()
    cfg = runtime_config(redis_url, tmp, router_port, **overrides)
    app = create_server(cfg)
    await app.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
    try:
        yield RuntimeUnderTest(app, runtime_pb2_grpc.RuntimeServiceStub(channel), fake, cfg)
    finally:
        await channel.close()
        await app.stop(0.5, stop_agents=stop_agents)
        await router_server.stop(0)
