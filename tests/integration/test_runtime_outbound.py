"""Remote agents and agents' BYOK base URLs pass the outbound policy: the operator's network, the cloud
metadata address and the mesh's own ports are refused with a 400 naming the field (issue 16, item 3)."""
from __future__ import annotations

import grpc
import pytest

from services.common.outbound import OutboundPolicy
from tests.fakes.agent_runtime import running_runtime
from tokenyard.runtime.v1 import runtime_pb2 as pb


def _param(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("ty-error-param", "")


@pytest.mark.parametrize("host, port", [("169.254.169.254", 80), ("127.0.0.1", 50051), ("localhost", 8080),
                                        ("10.0.0.8", 8000), ("::1", 9000)])
async def test_a_remote_agent_into_the_operators_network_is_refused(redis_server, tmp_path, host, port):
    async with running_runtime(redis_server.url, tmp_path, outbound=OutboundPolicy()) as rt:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(
                id="remote-1", workspace="acme", remote=pb.RemoteSpec(host=host, port=port))))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and _param(err.value) == "remote.host"
        with pytest.raises(grpc.aio.AioRpcError):
            await rt.stub.GetAgent(pb.GetAgentRequest(id="remote-1"))  # nothing was stored


async def test_an_agents_byok_base_url_into_the_operators_network_is_refused(redis_server, tmp_path):
    async with running_runtime(redis_server.url, tmp_path, outbound=OutboundPolicy()) as rt:
        await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(id="a1", workspace="acme")))
        for url in ("http://169.254.169.254/latest", "http://127.0.0.1:50052/v1", "http://192.168.0.3/v1"):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await rt.stub.SetLlmConfig(pb.SetLlmConfigRequest(
                    agent_id="a1", llm=pb.LlmConfig(provider="openai", base_url=url, api_key="sk-x", model="m")))
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and _param(err.value) == "llm.base_url"
        ok = await rt.stub.SetLlmConfig(pb.SetLlmConfigRequest(
            agent_id="a1", llm=pb.LlmConfig(provider="openai", base_url="https://8.8.8.8/v1", model="m")))
        assert ok.llm.base_url == "https://8.8.8.8/v1"
