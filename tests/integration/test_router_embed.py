"""Embed RPC: the same selection, retries and fallbacks as chat; usage recorded to the meter."""
from __future__ import annotations

import grpc
import pytest

from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router
from tokenyard.router.v1 import router_pb2


async def test_fake_provider_vectors_are_deterministic_and_metered(redis_client):
    r = await start_router([{"name": "fake", "provider": "fake", "models": ["fake-*"]}], {}, redis=redis_client)
    try:
        req = router_pb2.EmbedRequest(model="fake-embed", request_id="emb-1", dimensions=8, inputs=[
            router_pb2.EmbedInput(text="hello world"), router_pb2.EmbedInput(tokens=[1, 2, 3])])
        first = await r.stub.Embed(req)
        again = await r.stub.Embed(router_pb2.EmbedRequest(model="fake-embed", dimensions=8,
                                                           inputs=[router_pb2.EmbedInput(text="hello world")]))
        assert [len(e.values) for e in first.data] == [8, 8] and [e.index for e in first.data] == [0, 1]
        assert list(first.data[0].values) == list(again.data[0].values)
        assert first.data[0].values != first.data[1].values
        assert first.usage.prompt_tokens == first.usage.total_tokens == 2 + 3
        await r.wait_records(2)
        assert r.meter.records["emb-1"].usage.prompt_tokens == 5 and r.meter.records["emb-1"].status == "ok"
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await r.stub.Embed(router_pb2.EmbedRequest(model="fake-embed"))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        await r.stop()


async def test_embeddings_retry_on_another_deployment(redis_client):
    bad, good = await FaultUpstream("bad", status=502).start(), await FaultUpstream("good").start()
    r = await start_router([openai_dep("bad", bad, ["emb"]), openai_dep("good", good, ["emb"])],
                           {"groups": {"emb": {"strategy": "priority"}}}, redis=redis_client)
    try:
        resp = await r.stub.Embed(router_pb2.EmbedRequest(model="emb", inputs=[router_pb2.EmbedInput(text="a b")]))
        assert resp.deployment == "good" and list(resp.tried_deployments) == ["bad", "good"]
        assert len(resp.data) == 1 and len(resp.data[0].values) == 4
        assert good.calls[0].path == "/v1/embeddings" and good.calls[0].body["encoding_format"] == "float"
    finally:
        await r.stop()
        await bad.stop()
        await good.stop()
