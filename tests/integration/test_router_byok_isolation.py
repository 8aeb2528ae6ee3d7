"""A customer's own key reaches only a deployment whose vendor the operator wrote down, and URLs a tenant or
caller names pass the outbound policy (issue 16, items 2 and 3). Fake upstreams record every Authorization
header they are sent, so the tests see exactly where the key went."""
from __future__ import annotations

import asyncio

import grpc
import pytest

from services.common.outbound import OutboundPolicy
from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

CUSTOMER_KEY = "sk-customer-0123456789abcdef"


async def _until(predicate, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_byok_goes_only_to_the_explicit_vendor_never_an_inferred_one_or_a_registered_node(redis_client):
    inferred = await FaultUpstream("selfhosted").start()   # `provider: openai`, a self-hosted base_url
    explicit = await FaultUpstream("openai").start()       # `vendor: openai` written in the config
    node = await FaultUpstream("node").start()             # a node that registered itself for gpt-4o
    deps = [openai_dep("selfhosted", inferred, ["gpt-4o"], api_key="sk-gateway-selfhosted"),
            openai_dep("openai", explicit, ["gpt-4o"], api_key="sk-gateway-openai", vendor="openai")]
    r = await start_router(deps, {}, redis=redis_client, poll=0.1)
    try:
        await r.stub.RegisterUpstream(router_pb2.RegisterUpstreamRequest(
            node_id="gpu-9", base_url=node.base_url, models=["gpt-4o"], ttl_seconds=30))
        assert await _until(lambda: _served_by(r, "node"), 3.0)  # the node is in the pool for plain traffic
        byok = common_pb2.ProviderCredential(provider="openai", api_key=CUSTOMER_KEY)
        for _ in range(8):
            text, final = await r.chat("gpt-4o", byok=byok)
            assert text.startswith("openai0") and final.deployment == "openai"
        for up in (inferred, node):
            assert all(CUSTOMER_KEY not in c.authorization for c in up.calls), up.name
        assert [c.authorization for c in explicit.calls[-8:]] == [f"Bearer {CUSTOMER_KEY}"] * 8
    finally:
        await r.stop()
        for up in (inferred, explicit, node):
            await up.stop()


async def _served_by(r, name: str) -> bool:
    for _ in range(6):
        text, _final = await r.chat("gpt-4o")
        if text.startswith(name + "0"):
            return True
    return False


async def test_a_byok_key_for_a_model_only_inferred_deployments_serve_is_a_404_and_reaches_nobody(redis_client):
    inferred = await FaultUpstream("selfhosted").start()
    r = await start_router([openai_dep("selfhosted", inferred, ["gpt-4o"])], {}, redis=redis_client)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await r.chat("gpt-4o", byok=common_pb2.ProviderCredential(provider="openai", api_key=CUSTOMER_KEY))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert inferred.calls == []
    finally:
        await r.stop()
        await inferred.stop()


@pytest.mark.parametrize("url", ["http://169.254.169.254/v1", "http://127.0.0.1:{port}/v1", "http://10.0.0.7:8000/v1",
                                 "http://localhost:{port}/v1", "http://[::1]:{port}/v1"])
async def test_byok_base_urls_and_node_urls_into_the_operators_network_are_400s_naming_the_field(redis_client, url):
    target = await FaultUpstream("internal").start()
    url = url.format(port=target.port)
    r = await start_router([{"name": "fake", "provider": "fake", "models": ["fake-echo"]}], {}, redis=redis_client,
                           outbound=OutboundPolicy())
    try:
        byok = common_pb2.ProviderCredential(provider="openai", base_url=url, api_key=CUSTOMER_KEY)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await r.chat("fake-echo", byok=byok)
        md = dict(err.value.trailing_metadata() or ())
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and md.get("ty-error-param") == "llm.base_url"
        with pytest.raises(grpc.aio.AioRpcError) as reg:
            await r.stub.RegisterUpstream(router_pb2.RegisterUpstreamRequest(
                node_id="evil", base_url=url, models=["fake-echo"], ttl_seconds=30))
        assert reg.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "base_url" in reg.value.details()
        assert target.calls == []
    finally:
        await r.stop()
        await target.stop()


async def test_the_operator_allow_list_opens_its_own_network_for_byok(redis_client):
    own = await FaultUpstream("own", api_key=CUSTOMER_KEY).start()
    r = await start_router([{"name": "fake", "provider": "fake", "models": ["fake-echo"]}], {}, redis=redis_client,
                           outbound=OutboundPolicy(allow=(f"127.0.0.1:{own.port}",)))
    try:
        byok = common_pb2.ProviderCredential(provider="openai", base_url=own.base_url, api_key=CUSTOMER_KEY)
        text, final = await r.chat("fake-echo", byok=byok)
        assert text.startswith("own0") and final.deployment == "byok:openai"
    finally:
        await r.stop()
        await own.stop()
