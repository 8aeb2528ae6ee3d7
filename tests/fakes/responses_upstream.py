"""A fake OpenAI Responses API (`POST /v1/responses`, streaming) on loopback that records each request.

It answers the way the OpenAI API does: response.created, in_progress, a hosted web_search_call item
when `web_search` is among the tools, a message with output_text deltas, a function_call when a
function tool is offered and a custom_tool_call when a custom tool is, then response.completed with
usage. Model `fail` ends with response.failed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from aiohttp import web


@dataclass
class FakeResponsesUpstream:
    requests: list[dict] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> "FakeResponsesUpstream":
        app = web.Application()
        app.router.add_post("/v1/responses", self._responses)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        self.requests.append(body)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        seq = iter(range(10**6))

        async def send(kind: str, **data) -> None:
            await resp.write(f"event: {kind}\n".encode() + b"data: "
                             + orjson.dumps({"type": kind, "sequence_number": next(seq), **data}) + b"\n\n")

        head = {"id": "resp_up1", "object": "response", "model": body.get("model"), "status": "in_progress", "output": []}
        await send("response.created", response=head)
        await send("response.in_progress", response=head)
        if body.get("model") == "fail":
            await send("response.failed", response={**head, "status": "failed",
                                                    "error": {"code": "server_error", "message": "upstream broke"}})
            return resp
        tools = body.get("tools") or []
        index = 0
        if any(t.get("type") == "web_search" for t in tools):
            item = {"id": "ws_1", "type": "web_search_call", "status": "completed"}
            await send("response.output_item.added", output_index=index, item={**item, "status": "in_progress"})
            await send("response.output_item.done", output_index=index, item=item)
            index += 1
        await send("response.output_item.added", output_index=index, item={"id": "msg_1", "type": "message",
                                                                            "role": "assistant", "content": []})
        for piece in ("Hi ", "from ", "responses"):
            await send("response.output_text.delta", item_id="msg_1", output_index=index, content_index=0, delta=piece)
        index += 1
        for t in tools:
            if t.get("type") == "function":
                item = {"id": "fc_1", "type": "function_call", "call_id": "call_up1", "name": t["name"], "arguments": ""}
                await send("response.output_item.added", output_index=index, item=item)
                for piece in ('{"q":', '"x"}'):
                    await send("response.function_call_arguments.delta", item_id="fc_1", output_index=index,
                               delta=piece)
                index += 1
            elif t.get("type") == "custom":
                item = {"id": "ctc_1", "type": "custom_tool_call", "call_id": "call_up2", "name": t["name"], "input": ""}
                await send("response.output_item.added", output_index=index, item=item)
                await send("response.custom_tool_call_input.delta", item_id="ctc_1", output_index=index, delta="*** Begin")
                await send("response.output_item.done", output_index=index, item={**item, "input": "*** Begin"})
                index += 1
        await send("response.completed", response={**head, "status": "completed", "usage": {
            "input_tokens": 21, "output_tokens": 3, "total_tokens": 24, "input_tokens_details": {"cached_tokens": 5}}})
        return resp
