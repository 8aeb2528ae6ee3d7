"""An upstream that quotes the key it was sent in its error text: the key reaches neither the client's
error message nor the logs, whatever its shape (issue 16, item 9)."""
from __future__ import annotations

import grpc
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from tests.integration.router_harness import openai_dep, start_router
from tokenyard.common.v1 import common_pb2

GATEWAY_KEY = "zz9gatewaysecretzz9"   # no vendor's shape: only the targeted scrub catches it
CUSTOMER_KEY = "qq7customersecretqq7"


class _Echoing:
    """Answers 400 with the Authorization header it got, as some servers' error messages do."""

    def __init__(self) -> None:
        self.runner = None
        self.base_url = ""

    async def start(self) -> "_Echoing":
        async def chat(request: web.Request) -> web.Response:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ")
            return web.json_response({"error": {"message": f"Incorrect API key provided: {given}. Check it.",
                                                "type": "invalid_request_error"}}, status=400)

        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"
        return self

    async def stop(self) -> None:
        await self.runner.cleanup()


@pytest.mark.parametrize("byok", [False, True])
async def test_an_echoed_key_reaches_neither_the_client_nor_the_logs(redis_client, byok):
    up = await _Echoing().start()

    class _Up:
        base_url = up.base_url

    r = await start_router([openai_dep("echo", _Up, ["m"], api_key=GATEWAY_KEY, vendor="openai")], {},
                           redis=redis_client)
    try:
        extra = {"byok": common_pb2.ProviderCredential(provider="openai", api_key=CUSTOMER_KEY)} if byok else {}
        with capture_logs() as logs:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await r.chat("m", **extra)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "Incorrect API key provided: [REDACTED]" in err.value.details()
        text = err.value.details() + repr(logs)
        assert GATEWAY_KEY not in text and CUSTOMER_KEY not in text
        assert any(e.get("event") == "upstream_attempt_failed" for e in logs)
    finally:
        await r.stop()
        await up.stop()
