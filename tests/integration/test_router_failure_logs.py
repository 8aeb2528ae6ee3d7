"""Every failed upstream attempt leaves one log line with its cause under the request id, and the
client is told what failed, not only to retry (issue 17, item 6)."""
from __future__ import annotations

import grpc
import pytest
import structlog.testing

from tests.fakes.fault_upstream import FaultUpstream
from tests.integration.router_harness import openai_dep, start_router
from tokenyard.router.v1 import router_pb2


async def test_a_failed_embeddings_call_is_logged_with_its_cause_and_explained(redis_client):
    up = await FaultUpstream("a", status=503).start()
    r = await start_router([openai_dep("a", up, ["emb"])], {"retry": {"attempts": 1}}, redis=redis_client)
    try:
        with structlog.testing.capture_logs() as logs, pytest.raises(grpc.aio.AioRpcError) as exc:
            await r.stub.Embed(router_pb2.EmbedRequest(model="emb", request_id="req-emb-1",
                                                       inputs=[router_pb2.EmbedInput(text="x")]), timeout=10)
        failed = [e for e in logs if e["event"] == "upstream_attempt_failed"]
        assert len(failed) == 1 and failed[0]["request_id"] == "req-emb-1"
        assert failed[0]["operation"] == "embeddings" and failed[0]["status"] == 503
        assert failed[0]["cause"] == "retry" and failed[0]["error"] == "injected 503"
        assert "HTTP 503" in exc.value.details() and "injected 503" in exc.value.details()
    finally:
        await r.stop()
        await up.stop()
