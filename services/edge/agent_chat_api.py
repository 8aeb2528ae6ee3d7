"""POST /api/v1/agents/{id}/chat: talk to an agent (with its fallbacks and session) over the runtime.

Body: `{"message": "..."}` or `{"messages": [{"role", "content"}]}`, optional `session_id` (else a
new session is created and returned), `stream`, `temperature`, `max_tokens`, `user`. The answer
has OpenAI's chat.completion shape (chunks when streaming) plus `agent` (who answered) and
`session_id`, also in the `x-tokenyard-agent` / `x-tokenyard-session-id` headers. The master key,
or a virtual key of the agent's workspace (or bound to that agent), may chat.

Admission is the relay's (`ChatRelay.admit_request`): the same rate limits and budgets as
`model: "agent/<id>"` and every chat call, before the runtime reaches an upstream.
"""
from __future__ import annotations

import time
import uuid

import grpc
import orjson
from aiohttp import web

from services.common.rpc_end import call_ended
from services.edge.agent_model import AgentModel
from services.edge.agents_api import SSE_HEADERS, BadRequest, handler, json_body
from services.edge.completions_format import Assembler, ChunkWriter
from services.edge.errors import json_error, rpc_error_response
from services.edge.dialects.base import Parsed
from services.edge.middleware import CALLER, CLIENT_REQUEST_ID, PRINCIPAL, REQUEST_ID, id_headers
from services.edge.relay import ChatRelay
from tokenyard.router.v1 import router_pb2
from tokenyard.runtime.v1 import runtime_pb2 as pb
from tokenyard.runtime.v1 import runtime_pb2_grpc

_DONE = b"data: [DONE]\n\n"


def _request(body: dict, agent_id: str, rid: str, caller) -> pb.AgentChatRequest:
    messages = body.get("messages")
    if messages is None and isinstance(body.get("message"), str):
        messages = [{"role": "user", "content": body["message"]}]
    if (not isinstance(messages, list) or not messages
            or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages)):
        raise BadRequest(json_error(400, "Send `message` (text) or `messages` (a list of {role, content}).",
                                    param="message", code="invalid_value"))
    roles = {"user", "assistant", "system", "developer", "tool"}
    if any(m.get("role", "user") not in roles for m in messages):
        raise BadRequest(json_error(400, "Unknown message role.", param="messages", code="invalid_value"))
    sid = body.get("session_id") or body.get("sessionId") or ""
    req = pb.AgentChatRequest(agent_id=agent_id, session_id=sid if isinstance(sid, str) else "",
                              new_session=not sid, request_id=rid, caller=caller, user=str(body.get("user") or ""),
                              messages=[router_pb2.Message(role=m.get("role", "user"), content=m["content"])
                                        for m in messages])
    try:
        if body.get("temperature") is not None:
            req.temperature = float(body["temperature"])
        if body.get("max_tokens") is not None:
            req.max_tokens = int(body["max_tokens"])
    except (TypeError, ValueError):
        raise BadRequest(json_error(400, "`temperature` and `max_tokens` must be numbers.", code="invalid_value")) from None
    return req


def _parsed(req: pb.AgentChatRequest) -> Parsed:
    """The request as admission sees it: the messages the agent gets from the client, and its output cap."""
    chat = router_pb2.ChatRequest(request_id=req.request_id, model=f"agent/{req.agent_id}", messages=req.messages,
                                  caller=req.caller, client_request_id=req.client_request_id)
    if req.HasField("max_tokens"):
        chat.max_tokens = req.max_tokens
    return Parsed(chat, False, False, 0)


class AgentChatHandler:
    def __init__(self, runtime: runtime_pb2_grpc.RuntimeServiceStub, timeout: float, relay: ChatRelay,
                 agents: AgentModel) -> None:
        self._rt = runtime
        self._timeout = timeout
        self._relay = relay
        self._agents = agents

    async def _admit(self, request: web.Request, req: pb.AgentChatRequest):
        """(plan, admitted, parsed) or raises BadRequest with the refusal (403 for an agent the key may not use)."""
        principal = request[PRINCIPAL]
        plan = await self._agents.plan(principal, req.agent_id, req.session_id)
        if isinstance(plan, tuple):
            status, error, extra = plan
            if status == 404 and not principal.is_master:
                raise BadRequest(json_error(403, "This key may not chat with this agent.", code="forbidden"))
            raise BadRequest(json_error(status, error["message"], error["type"], error.get("param"),
                                        error.get("code"), {**id_headers(request), **extra}))
        parsed = _parsed(req)
        headers = id_headers(request)
        admitted = await self._relay.admit_request(principal, parsed, plan, headers)
        if isinstance(admitted, tuple):
            status, error, extra = admitted
            raise BadRequest(json_error(status, error["message"], error["type"], error.get("param"),
                                        error.get("code"), extra))
        if admitted is not None:
            self._relay.apply_admission(parsed, admitted, headers, route=False)
            if parsed.request.HasField("max_tokens"):
                req.max_tokens = parsed.request.max_tokens
        return plan, admitted, parsed, headers

    @handler
    async def chat(self, request: web.Request) -> web.StreamResponse:
        agent_id, rid = request.match_info["agent_id"], request[REQUEST_ID]
        body = await json_body(request)
        stream = bool(body.get("stream"))
        req = _request(body, agent_id, rid, request[CALLER])
        req.client_request_id = request[CLIENT_REQUEST_ID]
        plan, admitted, parsed, admit_headers = await self._admit(request, req)
        principal = request[PRINCIPAL]
        rpc = self._rt.AgentChat(req, timeout=self._timeout)
        final = None
        try:
            try:
                first = await rpc.read()
            except grpc.aio.AioRpcError as err:
                self._relay.release(principal, parsed, admitted, plan)
                return rpc_error_response(err, admit_headers)
            md = {k: v for k, v in (await rpc.initial_metadata() or ()) if isinstance(v, str)}
            answered, sid = md.get("ty-agent-answered", agent_id), md.get("ty-session-id", "")
            headers = {**admit_headers, "x-tokenyard-agent": answered, "x-tokenyard-session-id": sid}
            cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
            model = f"agent/{answered}"
            if stream:
                resp, final = await self._stream(request, rpc, first, ChunkWriter(cid, model, created), headers)
            else:
                resp, final = await self._assemble(rpc, first, cid, model, created, headers, answered, sid)
            return resp
        finally:
            if not rpc.done():
                rpc.cancel()
            if final is not None and final.deployment.startswith("remote:"):
                self._relay.release(principal, parsed, admitted, plan)  # a remote agent: no router record settles it
            self._relay.settle(principal, parsed.estimated_tokens, final.usage.total_tokens if final else 0,
                               plan.agent_id)

    async def _stream(self, request, rpc, first, writer: ChunkWriter, headers: dict) -> web.StreamResponse:
        resp = web.StreamResponse(headers={**SSE_HEADERS, **headers})
        await resp.prepare(request)
        msg = first
        while msg is not grpc.aio.EOF:
            if msg.deltas:
                await resp.write(writer.chunk(msg))
            if msg.HasField("final"):
                await resp.write(writer.error_end(msg.final, {0}) if msg.final.error.code
                                 else writer.usage(msg.final) + _DONE)
                await call_ended(rpc)
                return resp, msg.final
            try:
                msg = await rpc.read()
            except grpc.aio.AioRpcError:
                break
        await resp.write(b"event: error\ndata: " + orjson.dumps({"error": {
            "message": "The agent's answer broke off.", "type": "upstream_error", "param": None,
            "code": "stream_interrupted"}}) + b"\n\n")
        return resp, None

    async def _assemble(self, rpc, first, cid, model, created, headers, answered, sid) -> web.Response:
        assembler, msg = Assembler(), first
        while msg is not grpc.aio.EOF and not msg.HasField("final"):
            assembler.add(msg)
            try:
                msg = await rpc.read()
            except grpc.aio.AioRpcError as err:
                return rpc_error_response(err, headers), None
        if msg is grpc.aio.EOF:
            return json_error(502, "The agent's answer ended unexpectedly.", "upstream_error",
                              code="stream_interrupted", headers=headers), None
        await call_ended(rpc)
        if msg.final.error.code:
            return json_error(502, msg.final.error.message, msg.final.error.type, code=msg.final.error.code,
                              headers=headers), msg.final
        body = assembler.completion(cid, model, created, msg.final)
        body.update(agent=answered, session_id=sid)
        return web.Response(body=orjson.dumps(body), content_type="application/json", headers=headers), msg.final
