"""/api/v1/agents/{id}/files: the agent's drive. Upload is multipart (field `file`), streamed to the
runtime chunk by chunk (a client-streaming RPC), so the edge never holds a whole file; downloads
stream back the same way. Master key only.
"""
from __future__ import annotations

import asyncio
from urllib.parse import quote

import grpc
from aiohttp import web

from services.edge.agents_api import call, handler, query_int, to_json
from services.edge.errors import json_error, rpc_error_response
from services.edge.middleware import require_master, id_headers
from tokenyard.runtime.v1 import runtime_pb2 as pb
from tokenyard.runtime.v1 import runtime_pb2_grpc

CHUNK = 256 * 1024
UPLOAD_TIMEOUT = 600.0


class DriveHandler:
    def __init__(self, runtime: runtime_pb2_grpc.RuntimeServiceStub, max_file_size: int) -> None:
        self._rt = runtime
        self._max = max_file_size

    async def upload(self, request: web.Request) -> web.Response:
        if (denied := require_master(request)) is not None:
            return denied
        if not request.content_type.startswith("multipart/"):
            return json_error(400, "Upload files as multipart/form-data with a `file` field.", param="file",
                              code="invalid_content_type")
        reader = await request.multipart()
        part = await reader.next()
        while part is not None and part.name != "file":
            await part.release()
            part = await reader.next()
        if part is None:
            return json_error(400, "Missing the multipart `file` field.", param="file", code="missing_required_parameter")
        name = request.query.get("name") or part.filename or ""
        meta = pb.FileInfo(agent_id=request.match_info["agent_id"], name=name,
                           content_type=part.headers.get("Content-Type", "application/octet-stream"))

        upload, sent = self._rt.UploadFile(timeout=UPLOAD_TIMEOUT), 0
        try:
            await upload.write(pb.UploadFileRequest(meta=meta))
            # Past the limit, stop sending and let the runtime say so: a write blocked on flow control when
            # the runtime ends the call would otherwise surface as a local INTERNAL error, not its 413.
            while sent <= self._max and (chunk := await part.read_chunk(CHUNK)):
                sent += len(chunk)
                await upload.write(pb.UploadFileRequest(chunk=chunk))
            await upload.done_writing()
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            pass  # the runtime ended the call early; its status, awaited below, says why
        try:
            resp = await upload
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, id_headers(request))
        return web.json_response(to_json(resp.file), status=201)

    @handler
    async def list(self, request: web.Request) -> web.Response:
        size = query_int(request, "limit", 100, 1, 1000)
        resp = await call(request, self._rt.ListFiles, pb.ListFilesRequest(
            agent_id=request.match_info["agent_id"], page_size=size, page_token=request.query.get("after", "")))
        return web.json_response({"object": "list", "data": [to_json(f) for f in resp.files],
                                  "has_more": bool(resp.next_page_token), "next_after": resp.next_page_token or None})

    async def download(self, request: web.Request) -> web.StreamResponse:
        if (denied := require_master(request)) is not None:
            return denied
        stream = self._rt.DownloadFile(pb.DownloadFileRequest(agent_id=request.match_info["agent_id"],
                                                              name=request.match_info["name"]), timeout=UPLOAD_TIMEOUT)
        try:
            first = await stream.read()
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, id_headers(request))
        meta = first.meta
        resp = web.StreamResponse(headers={
            "Content-Type": meta.content_type or "application/octet-stream", "Content-Length": str(meta.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(meta.name)}",
            **id_headers(request)})
        await resp.prepare(request)
        try:
            while (msg := await stream.read()) is not grpc.aio.EOF:
                await resp.write(msg.chunk)
        finally:
            stream.cancel()
        return resp

    @handler
    async def delete(self, request: web.Request) -> web.Response:
        resp = await call(request, self._rt.DeleteFile, pb.DeleteFileRequest(
            agent_id=request.match_info["agent_id"], name=request.match_info["name"]))
        if not resp.deleted:
            return json_error(404, "No such file.", param="name", code="file_not_found")
        return web.json_response({"name": request.match_info["name"], "deleted": True})
