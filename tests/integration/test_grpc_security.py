"""The mesh's gRPC APIs on real servers: only calls that carry the master key are served (health and
reflection stay open for probes and grpcurl), and with certificates configured the mesh speaks TLS,
mutual when asked, with the services' own channels (router -> meter) doing the same."""
from __future__ import annotations

import asyncio
import contextlib

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services.common.channels import open_channel
from services.common.mesh_security import MeshSecurity
from services.meter.config import MeterConfig
from services.meter.server import create_server as create_meter
from services.router.config import RouterConfig
from services.router.config_parse import parse_deployment
from services.router.server import create_server as create_router
from tests.fakes.certs import make_pki
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

# `redis_client` flushes the shared Redis, so usage totals start from zero.
KEY = "ty-mesh-test-" + "x" * 20
OPEN = MeshSecurity(key=KEY)


@contextlib.asynccontextmanager
async def meter(redis_url: str, security: MeshSecurity):
    app = create_meter(MeterConfig(redis_url=redis_url, listen="127.0.0.1:0", security=security))
    await app.start()
    try:
        yield f"127.0.0.1:{app.port}"
    finally:
        await app.stop(0)


@contextlib.asynccontextmanager
async def router(meter_addr: str, security: MeshSecurity):
    dep = parse_deployment("deployments[0]", {"name": "fake", "provider": "fake", "models": ["fake-echo"]}, {})
    app = create_router(RouterConfig(deployments=(dep,), listen="127.0.0.1:0", meter_addr=meter_addr,
                                     security=security))
    await app.start()
    try:
        yield f"127.0.0.1:{app.port}"
    finally:
        await app.stop(0.5)


async def usage(channel) -> meter_pb2.GetUsageResponse:
    return await meter_pb2_grpc.MeterServiceStub(channel).GetUsage(
        meter_pb2.GetUsageRequest(period=meter_pb2.PERIOD_DAY), timeout=5)


async def refusal(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


async def test_only_calls_carrying_the_master_key_are_served(redis_server, redis_client):
    async with meter(redis_server.url, OPEN) as addr:
        async with grpc.aio.insecure_channel(addr) as bare:
            err = await refusal(usage(bare))
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "master key" in err.details() and "HTTP API" in err.details()
            for token in ("wrong-" + KEY, "ty-abc123-a-virtual-key-from-the-edge", KEY[:-1], KEY + "x"):
                err = await refusal(meter_pb2_grpc.MeterServiceStub(bare).GetUsage(
                    meter_pb2.GetUsageRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=5))
                assert err.code() == grpc.StatusCode.UNAUTHENTICATED, token
            # Probes and grpcurl need no key.
            health = await health_pb2_grpc.HealthStub(bare).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            listed = reflection_pb2_grpc.ServerReflectionStub(bare).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
            names = [s.name async for reply in listed for s in reply.list_services_response.service]
            assert "tokenyard.meter.v1.MeterService" in names
        keyed = open_channel(addr, OPEN)
        try:
            assert (await usage(keyed)).totals.requests == 0
        finally:
            await keyed.close()


async def test_a_streaming_call_without_the_key_is_refused_before_any_upstream_call(redis_server, redis_client):
    async with meter(redis_server.url, OPEN) as meter_addr, router(meter_addr, OPEN) as addr:
        async with grpc.aio.insecure_channel(addr) as bare:
            stream = router_pb2_grpc.RouterServiceStub(bare).Chat(router_pb2.ChatRequest(
                model="fake-echo", request_id="no-key", messages=[router_pb2.Message(role="user", content="hi")]),
                timeout=5)
            err = await refusal(stream.read())
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        await asyncio.sleep(0.2)  # a served call would have reported its usage by now (20 ms batches)
        keyed = open_channel(meter_addr, OPEN)
        try:
            assert (await usage(keyed)).totals.requests == 0
        finally:
            await keyed.close()


async def test_with_certificates_the_mesh_speaks_mutual_tls_end_to_end(redis_server, redis_client, tmp_path):
    pki = make_pki(tmp_path / "mesh")
    mtls = MeshSecurity.from_env({"TOKENYARD_MASTER_KEY": KEY, **pki.env(client_auth=True)})
    async with meter(redis_server.url, mtls) as meter_addr, router(meter_addr, mtls) as addr:
        async with grpc.aio.insecure_channel(addr) as plain:  # plaintext cannot even start the handshake
            assert (await refusal(plain.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=3))).code() \
                == grpc.StatusCode.UNAVAILABLE
        no_cert = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
        async with grpc.aio.secure_channel(addr, no_cert) as anonymous:  # TLS, but no client certificate
            err = await refusal(health_pb2_grpc.HealthStub(anonymous).Check(health_pb2.HealthCheckRequest(),
                                                                            timeout=3))
            assert err.code() == grpc.StatusCode.UNAVAILABLE
        stranger = make_pki(tmp_path / "other", "other")  # a certificate from a CA the mesh does not trust
        foreign = MeshSecurity.from_env({"TOKENYARD_MASTER_KEY": KEY, **stranger.env(client_auth=True),
                                         "TOKENYARD_GRPC_TLS_CA": str(pki.ca)})
        outsider = open_channel(addr, foreign)
        try:
            err = await refusal(health_pb2_grpc.HealthStub(outsider).Check(health_pb2.HealthCheckRequest(),
                                                                           timeout=3))
            assert err.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            await outsider.close()

        to_router, to_meter = open_channel(addr, mtls), open_channel(meter_addr, mtls)
        try:
            chunks = [m async for m in router_pb2_grpc.RouterServiceStub(to_router).Chat(router_pb2.ChatRequest(
                model="fake-echo", request_id="tls-1", messages=[router_pb2.Message(role="user", content="hi")]),
                timeout=10)]
            assert chunks[-1].final.deployment == "fake" and not chunks[-1].final.error.code
            assert "".join(d.content for m in chunks for d in m.deltas)
            for _ in range(100):  # the router reports usage to the meter over its own mTLS channel
                totals = (await usage(to_meter)).totals
                if totals.requests:
                    break
                await asyncio.sleep(0.05)
            assert totals.requests == 1 and totals.completion_tokens > 0
        finally:
            await to_router.close()
            await to_meter.close()


async def test_tls_without_client_certificates_still_needs_the_key(redis_server, redis_client, tmp_path):
    pki = make_pki(tmp_path)
    tls = MeshSecurity.from_env({"TOKENYARD_MASTER_KEY": KEY, **pki.env()})
    async with meter(redis_server.url, tls) as addr:
        keyless = open_channel(addr, MeshSecurity(cert=tls.cert, private_key=tls.private_key, ca=tls.ca))
        keyed = open_channel(addr, tls)
        try:
            assert (await refusal(usage(keyless))).code() == grpc.StatusCode.UNAUTHENTICATED
            assert (await usage(keyed)).totals.requests == 0
        finally:
            await keyless.close()
            await keyed.close()
