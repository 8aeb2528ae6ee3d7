"""/api/v1/agents...: the agent registry, BYOK LLM config, and supervised processes, over the runtime's gRPC API.

JSON bodies map onto the runtime protos with the proto3 JSON mapping (camelCase or snake_case keys
in, camelCase out: `hasKey`, `fallbackAgents`), so the HTTP and gRPC APIs cannot drift apart.
Secrets are write-only: `llm.apiKey` and `remote.authToken` go in, `hasKey`/`hasAuthToken` come out.
Everything here needs the master key. `register()` adds every runtime route (agents, agent chat,
drive, sessions) to the app.
"""
from __future__ import annotations

import grpc
import orjson
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message

from services.edge.errors import json_error, rpc_error_response
from services.edge.middleware import REQUEST_ID, require_master, id_headers
from tokenyard.runtime.v1 import runtime_pb2 as pb
from tokenyard.runtime.v1 import runtime_pb2_grpc

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
TIMEOUT = 15.0


class BadRequest(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


_WRITE_ONLY = frozenset({"apiKey", "authToken"})


def _drop_write_only(value):
    if isinstance(value, dict):
        return {k: _drop_write_only(v) for k, v in value.items() if k not in _WRITE_ONLY}
    if isinstance(value, list):
        return [_drop_write_only(v) for v in value]
    return value


def to_json(message: Message) -> dict:
    """Proto3 JSON (camelCase, every field shown) without the write-only secret fields, which are always
    empty on the way out and would only suggest a key could be read back."""
    return _drop_write_only(json_format.MessageToDict(message, always_print_fields_with_no_presence=True,
                                                      unquote_int64_if_possible=True))


async def json_body(request: web.Request) -> dict:
    try:
        body = orjson.loads(await request.read() or b"{}")
    except orjson.JSONDecodeError:
        raise BadRequest(json_error(400, "We could not parse the JSON body of your request. Send valid JSON.",
                                    code="invalid_json")) from None
    if not isinstance(body, dict):
        raise BadRequest(json_error(400, "The request body must be a JSON object.", code="invalid_type"))
    return body


def parse(data: dict, message: Message, param: str | None = None) -> Message:
    try:
        return json_format.ParseDict(data, message)
    except json_format.ParseError as exc:
        raise BadRequest(json_error(400, f"Invalid request body: {exc}.", param=param, code="invalid_value")) from None


async def call(request: web.Request, rpc, req: Message, *, master: bool = True, **kw):
    """One unary runtime call; any failure becomes the OpenAI error shape with the right status."""
    if master and (denied := require_master(request)) is not None:
        raise BadRequest(denied)
    try:
        return await rpc(req, timeout=kw.pop("timeout", TIMEOUT), **kw)
    except grpc.aio.AioRpcError as err:
        raise BadRequest(rpc_error_response(err, id_headers(request))) from None


def query_int(request: web.Request, name: str, default: int, lo: int = 0, hi: int = 2**31 - 1) -> int:
    raw = request.query.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise BadRequest(json_error(400, f"`{name}` must be an integer from {lo} to {hi}.", param=name,
                                    code="invalid_value"))
    return value


def handler(fn):
    async def wrapped(*args) -> web.StreamResponse:
        try:
            return await fn(*args)
        except BadRequest as exc:
            return exc.response
    return wrapped


class AgentsHandler:
    def __init__(self, runtime: runtime_pb2_grpc.RuntimeServiceStub) -> None:
        self._rt = runtime

    @handler
    async def create(self, request: web.Request) -> web.Response:
        agent = parse(await json_body(request), pb.Agent())
        created = await call(request, self._rt.CreateAgent, pb.CreateAgentRequest(agent=agent))
        return web.json_response(to_json(created.agent), status=201)

    @handler
    async def list(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.ListAgents, pb.ListAgentsRequest(workspace=request.query.get("workspace", "")))
        return web.json_response({"object": "list", "data": [to_json(a) for a in resp.agents]})

    @handler
    async def get(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.GetAgent, pb.GetAgentRequest(id=request.match_info["agent_id"]))
        return web.json_response(to_json(resp.agent))

    @handler
    async def update(self, request: web.Request) -> web.Response:
        """PATCH changes the fields present in the body; PUT replaces every field."""
        body = await json_body(request)
        agent = parse({k: v for k, v in body.items() if k != "id"}, pb.Agent())
        agent.id = request.match_info["agent_id"]
        mask = []
        if request.method == "PATCH":
            by_json = {f.json_name: f.name for f in pb.Agent.DESCRIPTOR.fields}
            mask = [by_json.get(k, k) for k in body if k != "id"]
        resp = await call(request, self._rt.UpdateAgent, pb.UpdateAgentRequest(agent=agent, update_mask=mask))
        return web.json_response(to_json(resp.agent))

    @handler
    async def delete(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.DeleteAgent, pb.DeleteAgentRequest(id=request.match_info["agent_id"]))
        return web.json_response({"id": request.match_info["agent_id"], "deleted": resp.deleted})

    @handler
    async def get_llm(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.GetLlmConfig, pb.GetLlmConfigRequest(agent_id=request.match_info["agent_id"]))
        return web.json_response(to_json(resp.llm))

    @handler
    async def put_llm(self, request: web.Request) -> web.Response:
        """An absent or empty `apiKey` keeps the stored key; `"apiKey": null` removes it."""
        body = await json_body(request)
        remove = ("apiKey" in body and body["apiKey"] is None) or ("api_key" in body and body["api_key"] is None)
        llm = parse({k: v for k, v in body.items() if v is not None}, pb.LlmConfig(), "llm")
        resp = await call(request, self._rt.SetLlmConfig, pb.SetLlmConfigRequest(
            agent_id=request.match_info["agent_id"], llm=llm, keep_key=not remove))
        return web.json_response(to_json(resp.llm))

    @handler
    async def test_llm(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.TestLlmConfig, pb.TestLlmConfigRequest(
            agent_id=request.match_info["agent_id"], request_id=request[REQUEST_ID]), timeout=45)
        return web.json_response(to_json(resp))

    @handler
    async def start(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.StartAgent, pb.StartAgentRequest(agent_id=request.match_info["agent_id"]))
        return web.json_response(to_json(resp.health))

    @handler
    async def stop(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.StopAgent, pb.StopAgentRequest(agent_id=request.match_info["agent_id"]),
                          timeout=90)
        return web.json_response(to_json(resp.health))

    @handler
    async def health(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.GetAgentHealth,
                          pb.GetAgentHealthRequest(agent_id=request.match_info["agent_id"]))
        return web.json_response(to_json(resp.health))

    @handler
    async def remote_health(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.GetRemoteHealth,
                          pb.GetRemoteHealthRequest(agent_id=request.match_info["agent_id"]))
        return web.json_response(to_json(resp.health))

    @handler
    async def running(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.ListRunningAgents, pb.ListRunningAgentsRequest())
        return web.json_response({"object": "list", "data": [to_json(h) for h in resp.agents]})

    @handler
    async def logs(self, request: web.Request) -> web.StreamResponse:
        """SSE: one `data: {"line": ...}` event per output line; `?follow=true` keeps streaming."""
        if (denied := require_master(request)) is not None:
            return denied
        tail = query_int(request, "tail", 100, 0, 10_000)
        follow = request.query.get("follow", "false").lower() in ("1", "true", "yes")
        stream = self._rt.StreamAgentLogs(pb.StreamAgentLogsRequest(
            agent_id=request.match_info["agent_id"], tail_lines=tail, follow=follow))
        try:
            first = await stream.read()
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, id_headers(request))
        resp = web.StreamResponse(headers={**SSE_HEADERS, **id_headers(request)})
        await resp.prepare(request)
        try:
            msg = first
            while msg is not grpc.aio.EOF:
                await resp.write(b"".join(b"data: " + orjson.dumps({"line": line}) + b"\n\n" for line in msg.lines))
                msg = await stream.read()
            await resp.write(b"event: end\ndata: {}\n\n")
        except grpc.aio.AioRpcError:
            await resp.write(b"event: error\ndata: " + orjson.dumps({"error": {
                "message": "The log stream broke off.", "type": "api_error", "param": None,
                "code": "stream_interrupted"}}) + b"\n\n")
        finally:
            stream.cancel()
        return resp


def register(app: web.Application, runtime: runtime_pb2_grpc.RuntimeServiceStub, request_timeout: float,
             drive_max_file_size: int, chat_handler) -> None:
    """Adds every runtime-backed route. Fixed paths come before `{agent_id}` so `running` is not an id."""
    from services.edge.agent_drive_api import DriveHandler
    from services.edge.sessions_api import SessionsHandler

    agents, chat, drive = AgentsHandler(runtime), chat_handler, DriveHandler(runtime, drive_max_file_size)
    r, base = app.router, "/api/v1/agents"
    r.add_post(base, agents.create)
    r.add_get(base, agents.list)
    r.add_get(f"{base}/running", agents.running)
    r.add_get(base + "/{agent_id}", agents.get)
    r.add_patch(base + "/{agent_id}", agents.update)
    r.add_put(base + "/{agent_id}", agents.update)
    r.add_delete(base + "/{agent_id}", agents.delete)
    r.add_get(base + "/{agent_id}/llm-config", agents.get_llm)
    r.add_put(base + "/{agent_id}/llm-config", agents.put_llm)
    r.add_post(base + "/{agent_id}/llm-test", agents.test_llm)
    r.add_post(base + "/{agent_id}/start", agents.start)
    r.add_post(base + "/{agent_id}/stop", agents.stop)
    r.add_get(base + "/{agent_id}/health", agents.health)
    r.add_get(base + "/{agent_id}/remote-health", agents.remote_health)
    r.add_get(base + "/{agent_id}/logs", agents.logs)
    r.add_post(base + "/{agent_id}/chat", chat.chat)
    r.add_post(base + "/{agent_id}/files", drive.upload)
    r.add_get(base + "/{agent_id}/files", drive.list)
    r.add_get(base + "/{agent_id}/files/{name}", drive.download)
    r.add_delete(base + "/{agent_id}/files/{name}", drive.delete)
    SessionsHandler(runtime).register(app)
