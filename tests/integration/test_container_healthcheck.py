"""deploy/healthcheck.py, the probe compose runs in each container, against a real gRPC health service
(the one every Tokenyard gRPC server carries) and a real HTTP server: Docker marks a container healthy
only on exit 0, so the probe must say 0 exactly when the service can take work."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from aiohttp import web

from services.common import grpc_server
from services.common.mesh_security import MeshSecurity
from services.common.redis_server import free_port
from tests.fakes.certs import make_pki

PROBE = Path(__file__).resolve().parents[2] / "deploy" / "healthcheck.py"


async def probe(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Runs the probe as Docker does, in its own process (with the container's `env`), while this loop
    keeps serving."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TOKENYARD_GRPC_TLS_")}
    proc = await asyncio.create_subprocess_exec(sys.executable, str(PROBE), *args, env={**clean, **(env or {})},
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    return proc.returncode, err.decode()


@pytest.fixture
async def grpc_health():
    server, health, port = grpc_server.create_server([], ["tokenyard.router.v1.RouterService"], "127.0.0.1:0")
    await server.start()
    yield health, f"127.0.0.1:{port}"
    await server.stop(0)


async def test_grpc_probe_follows_the_servers_health_status(grpc_health):
    health, address = grpc_health
    await grpc_server.set_serving(health, ["tokenyard.router.v1.RouterService"], False)
    code, err = await probe("grpc", address)
    assert code == 1 and "NOT_SERVING" in err

    await grpc_server.set_serving(health, ["tokenyard.router.v1.RouterService"], True)
    assert await probe("grpc", address) == (0, "")
    assert await probe("grpc", address, "tokenyard.router.v1.RouterService") == (0, "")


async def test_grpc_probe_fails_while_the_server_drains(grpc_health):
    health, address = grpc_health
    await grpc_server.set_serving(health, [], True)
    await health.enter_graceful_shutdown()
    code, err = await probe("grpc", address)
    assert code == 1 and "NOT_SERVING" in err


async def test_grpc_probe_fails_when_nothing_listens():
    code, err = await probe("grpc", f"127.0.0.1:{free_port()}")
    assert code == 1 and "UNAVAILABLE" in err


async def test_grpc_probe_fails_for_a_service_the_server_does_not_know(grpc_health):
    health, address = grpc_health
    await grpc_server.set_serving(health, [], True)
    code, err = await probe("grpc", address, "tokenyard.nothing.v1.NoService")
    assert code == 1 and "NOT_FOUND" in err


async def test_http_probe_is_healthy_on_2xx_only():
    status = {"code": 200}

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok" if status["code"] == 200 else "draining"}, status=status["code"])

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await probe("http", f"http://127.0.0.1:{port}/healthz") == (0, "")
        status["code"] = 503
        code, err = await probe("http", f"http://127.0.0.1:{port}/healthz")
        assert code == 1 and "HTTP 503" in err
    finally:
        await runner.cleanup()
    code, err = await probe("http", f"http://127.0.0.1:{port}/healthz")
    assert code == 1 and "unhealthy" in err


async def test_probe_misuse_is_unhealthy_with_usage_not_a_stack_trace():
    code, err = await probe("tcp", "127.0.0.1:1")
    assert code == 1 and err.startswith("usage:") and "Traceback" not in err


async def test_grpc_probe_speaks_the_mesh_tls_from_the_same_variables(tmp_path):
    """With TLS (mutual here) on, the probe uses the container's certificate; health needs no key."""
    pki = make_pki(tmp_path)
    security = MeshSecurity.from_env({"TOKENYARD_MASTER_KEY": "k" * 20, **pki.env(client_auth=True)})
    server, health, port = grpc_server.create_server([], [], "127.0.0.1:0", security=security)
    await server.start()
    try:
        await grpc_server.set_serving(health, [], True)
        assert await probe("grpc", f"127.0.0.1:{port}", env=pki.env(client_auth=True)) == (0, "")
        code, err = await probe("grpc", f"127.0.0.1:{port}")  # plaintext against a TLS port
        assert code == 1 and "UNAVAILABLE" in err
    finally:
        await server.stop(0)
