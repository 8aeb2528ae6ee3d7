"""/api/v1/sessions...: agent sessions and their history (create, get, list, delete, export, import,
cleanup) over the runtime's gRPC API. Master key only. Export is the portable JSON document
(`format: tokenyard.session.v1`) that import takes back unchanged.
"""
from __future__ import annotations

from aiohttp import web

from services.edge.agents_api import call, handler, json_body, parse, query_int, to_json
from services.edge.errors import json_error
from tokenyard.runtime.v1 import runtime_pb2 as pb
from tokenyard.runtime.v1 import runtime_pb2_grpc


class SessionsHandler:
    def __init__(self, runtime: runtime_pb2_grpc.RuntimeServiceStub) -> None:
        self._rt = runtime

    def register(self, app: web.Application) -> None:
        r, base = app.router, "/api/v1/sessions"
        r.add_post(base, self.create)
        r.add_get(base, self.list)
        r.add_post(f"{base}/cleanup", self.cleanup)
        r.add_post(f"{base}/import", self.import_)
        r.add_get(base + "/{session_id}", self.get)
        r.add_delete(base + "/{session_id}", self.delete)
        r.add_get(base + "/{session_id}/export", self.export)

    @handler
    async def create(self, request: web.Request) -> web.Response:
        req = parse(await json_body(request), pb.CreateSessionRequest())
        return web.json_response(to_json((await call(request, self._rt.CreateSession, req)).session), status=201)

    @handler
    async def list(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.ListSessions, pb.ListSessionsRequest(
            agent_id=request.query.get("agent_id", ""), limit=query_int(request, "limit", 50, 1, 500),
            offset=query_int(request, "offset", 0)))
        return web.json_response({"object": "list", "data": [to_json(s) for s in resp.sessions]})

    @handler
    async def get(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.GetSession, pb.GetSessionRequest(id=request.match_info["session_id"]))
        return web.json_response(to_json(resp.session))

    @handler
    async def delete(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.DeleteSession, pb.DeleteSessionRequest(id=request.match_info["session_id"]))
        if not resp.deleted:
            return json_error(404, "No such session.", param="session_id", code="session_not_found")
        return web.json_response({"id": request.match_info["session_id"], "deleted": True})

    @handler
    async def export(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.ExportSession, pb.ExportSessionRequest(id=request.match_info["session_id"]))
        return web.Response(text=resp.json, content_type="application/json")

    @handler
    async def import_(self, request: web.Request) -> web.Response:
        overwrite = request.query.get("overwrite", "false").lower() in ("1", "true", "yes")
        text = (await request.read()).decode("utf-8", errors="replace")
        resp = await call(request, self._rt.ImportSession, pb.ImportSessionRequest(json=text, overwrite=overwrite))
        return web.json_response(to_json(resp.session), status=201)

    @handler
    async def cleanup(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        age = body.get("older_than_seconds", body.get("olderThanSeconds", 0))
        if not isinstance(age, int) or isinstance(age, bool) or age < 0:
            return json_error(400, "`older_than_seconds` must be a non-negative integer.",
                              param="older_than_seconds", code="invalid_value")
        resp = await call(request, self._rt.CleanupSessions, pb.CleanupSessionsRequest(older_than_seconds=age))
        return web.json_response({"deleted": resp.deleted})
