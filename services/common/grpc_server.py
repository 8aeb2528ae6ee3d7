"""gRPC server scaffolding: health, reflection, binding, graceful shutdown on SIGTERM/SIGINT."""
from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.mesh_security import MeshSecurity

# Long-lived channels between services: keepalive so a dead peer is noticed, big enough messages.
CHANNEL_OPTIONS = (
    # A peer that restarts must be found again within a second of listening: gRPC's default reconnect
    # backoff starts at 1 s and grows 1.6x to 120 s, so after a 90 s outage a channel waited up to ~25 s
    # more (all of it 503s) while the router was back. Capped at 1 s, a reconnect costs one SYN per
    # second per dead peer.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    # A peer address that resolves to several hosts (a Kubernetes headless Service) is balanced
    # per call across all of them; the default pick_first would pin every call to one replica.
    ("grpc.lb_policy_name", "round_robin"),
    # No BDP probes: with them each call that carries data also sends a PING and its ACK on both sides
    # (syscalls, thread wake-ups), to grow flow-control windows that token streams never fill.
    ("grpc.http2.bdp_probe", 0),
)
SERVER_OPTIONS = CHANNEL_OPTIONS + (
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    # Clients re-resolve DNS when a connection ends; a GOAWAY every 5 minutes lets them find new
    # replicas. In-flight streams are not cut (no max_connection_age_grace).
    ("grpc.max_connection_age_ms", 300_000),
    ("grpc.so_reuseport", 0),
)


class StartingHealthServicer(health.aio.HealthServicer):
    """Says NOT_SERVING from the moment the port listens until the service calls `set_serving(..., True)`;
    the stock servicer starts out SERVING, so a probe during startup would send traffic too early."""

    def __init__(self) -> None:
        super().__init__()
        self._server_status[""] = health_pb2.HealthCheckResponse.NOT_SERVING


def create_server(
    add_servicers: Iterable[Callable[[grpc.aio.Server], None]],
    service_names: Iterable[str],
    address: str,
    interceptors: Iterable[grpc.aio.ServerInterceptor] = (),
    security: MeshSecurity = MeshSecurity(),
) -> tuple[grpc.aio.Server, health.aio.HealthServicer, int]:
    """Builds a server with health and reflection; returns it, its health servicer and the bound port.

    Binding port 0 picks a free port, which is how the tests run servers side by side. `interceptors`:
    tracing/metrics (services.common.tracing); none when both are off, so they cost nothing then.
    `security`: the key check runs after them, so refused calls still show in metrics and traces;
    TLS when it has a certificate. The default (open, plaintext) is for in-process tests.
    """
    chain = [*interceptors, *security.server_interceptors()]
    server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=chain or None)
    for add in add_servicers:
        add(server)
    health_servicer = StartingHealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = list(service_names)
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    creds = security.server_credentials()
    port = server.add_secure_port(address, creds) if creds is not None else server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"cannot bind gRPC server to {address}")
    return server, health_servicer, port


async def set_serving(health_servicer: health.aio.HealthServicer, names: Iterable[str], serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ["", *names]:
        await health_servicer.set(name, status)


async def wait_for_stop_signal() -> None:
    """Returns on the first SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def drain(server: grpc.aio.Server, health_servicer: health.aio.HealthServicer, grace: float) -> None:
    """Stops taking work (health says NOT_SERVING), lets in-flight RPCs finish within `grace`."""
    await health_servicer.enter_graceful_shutdown()
    await server.stop(grace)
