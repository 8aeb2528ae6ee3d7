"""Wires the runtime (Redis, router channel, HTTP client for remote agents, supervisor) and serves it."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import grpc
import redis.asyncio as redis
import structlog

from services.common import grpc_server, redis_conn
from services.common.channels import open_channel
from services.common.health import RedisHealth
from services.common.metrics import Metrics
from services.common.serving import serve_until_stopped
from services.common.tracing import Tracing
from services.common.keystore import KeyStore
from services.runtime.agent_chat import AgentChat
from services.runtime.agent_files import AgentFiles
from services.runtime.config import RuntimeConfig
from services.runtime.crypto import SecretBox
from services.runtime.drive import Drive
from services.runtime.registry import AgentRegistry
from services.runtime.remote import LazyHttp, RemoteAgentClient
from services.runtime.remote_health import RemoteHealthTracker
from services.runtime.servicer import RuntimeServicer
from services.runtime.session_sweeper import SessionSweeper
from services.runtime.sessions import SessionStore
from services.runtime.supervisor import Supervisor
from tokenyard.router.v1 import router_pb2_grpc
from tokenyard.runtime.v1 import runtime_pb2, runtime_pb2_grpc

log = structlog.get_logger()
SERVICE_NAMES = (runtime_pb2.DESCRIPTOR.services_by_name["RuntimeService"].full_name,)


@dataclass
class RuntimeApp:
    cfg: RuntimeConfig
    server: grpc.aio.Server
    health: object
    port: int
    redis: redis.Redis
    router_channel: grpc.aio.Channel
    http: LazyHttp
    supervisor: Supervisor
    redis_health: RedisHealth
    session_sweeper: SessionSweeper

    async def start(self) -> dict[str, list[str]]:
        """Re-adopts agents a previous runtime left running, then serves; returns what recovery did."""
        await redis_conn.warm(self.redis)
        recovered = await self.supervisor.recover()
        await self.server.start()
        await self.redis_health.start()  # SERVING only once Redis answers (and NOT_SERVING while it does not)
        self.session_sweeper.start()
        return recovered

    async def stop(self, grace: float, stop_agents: bool | None = None) -> None:
        await self.session_sweeper.aclose()
        await self.redis_health.aclose()
        await grpc_server.drain(self.server, self.health, grace)
        if self.cfg.stop_agents_on_exit if stop_agents is None else stop_agents:
            await self.supervisor.stop_all()
        else:
            await self.supervisor.detach()
        await self.http.close()
        await self.router_channel.close()
        await self.redis.aclose()


def create_server(cfg: RuntimeConfig, client: redis.Redis | None = None, tracing: Tracing | None = None,
                  metrics: Metrics | None = None) -> RuntimeApp:
    """`tracing`: off by default; `metrics`: when given, RPC metrics are recorded in it."""
    tracing = tracing or Tracing()
    client = client or redis_conn.connect(cfg.redis_url)
    channel = open_channel(cfg.router_addr, cfg.security, tracing)
    router = router_pb2_grpc.RouterServiceStub(channel)
    http = LazyHttp(tracing.http_trace_configs(), cfg.outbound.socket_factory)
    box = SecretBox(cfg.encryption_key, cfg.old_encryption_keys)
    registry = AgentRegistry(client, box, outbound=cfg.outbound)
    sessions = SessionStore(client)
    files = AgentFiles(cfg.state_dir)
    owner = hashlib.sha256(f"{cfg.redis_url}|{cfg.listen}".encode()).hexdigest()[:16]
    supervisor = Supervisor(files, registry, KeyStore(client), cfg.edge_url, owner)
    remote_health = RemoteHealthTracker(client)
    chat = AgentChat(registry, sessions, router, RemoteAgentClient(http, remote_health))
    drive = Drive(cfg.drive_path, cfg.drive_max_file_size, client)
    servicer = RuntimeServicer(registry, supervisor, files, sessions, chat, remote_health, drive, router,
                               cfg.chat_timeout, cfg.session_ttl)
    server, health, port = grpc_server.create_server(
        [lambda s: runtime_pb2_grpc.add_RuntimeServiceServicer_to_server(servicer, s)], SERVICE_NAMES, cfg.listen,
        tracing.server_interceptors(metrics), cfg.security)
    if not box.enabled:
        log.warning("runtime_secrets_disabled", reason="TOKENYARD_ENCRYPTION_KEY is not set; BYOK keys cannot be stored")
    return RuntimeApp(cfg, server, health, port, client, channel, http, supervisor,
                      RedisHealth(client, health, SERVICE_NAMES),
                      SessionSweeper(sessions, cfg.session_ttl, cfg.session_sweep_interval))


async def serve(cfg: RuntimeConfig) -> None:
    await serve_until_stopped("runtime", lambda tracing, metrics: create_server(cfg, tracing=tracing, metrics=metrics),
                              cfg.shutdown_grace)
