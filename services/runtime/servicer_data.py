"""RuntimeService over gRPC, part 2: sessions and the per-agent drive (proto <-> domain)."""
from __future__ import annotations

from services.common.errors import invalid
from services.runtime.drive import Drive
from services.runtime.registry import AgentRegistry
from services.runtime.rpc_errors import streaming, unary
from services.runtime.sessions import SessionStore
from tokenyard.runtime.v1 import runtime_pb2 as pb


class DataRpcs:
    def __init__(self, sessions: SessionStore, drive: Drive, registry: AgentRegistry, session_ttl: float) -> None:
        self._sessions = sessions
        self._drive = drive
        self._agents = registry
        self._session_ttl = session_ttl

    @unary
    async def CreateSession(self, request, context):
        workspace = (await self._agents.get(request.agent_id)).workspace if request.agent_id else ""
        s = await self._sessions.create(request.agent_id, request.user, dict(request.metadata), workspace)
        return pb.CreateSessionResponse(session=s)

    @unary
    async def GetSession(self, request, context):
        return pb.GetSessionResponse(session=await self._sessions.get(request.id))

    @unary
    async def ListSessions(self, request, context):
        return pb.ListSessionsResponse(sessions=await self._sessions.list(request.agent_id, request.limit, request.offset))

    @unary
    async def DeleteSession(self, request, context):
        return pb.DeleteSessionResponse(deleted=await self._sessions.delete(request.id))

    @unary
    async def ExportSession(self, request, context):
        return pb.ExportSessionResponse(json=await self._sessions.export(request.id))

    @unary
    async def ImportSession(self, request, context):
        return pb.ImportSessionResponse(session=await self._sessions.import_(request.json, request.overwrite))

    @unary
    async def CleanupSessions(self, request, context):
        if request.older_than_seconds < 0:
            raise invalid("`older_than_seconds` cannot be negative.", param="older_than_seconds")
        ttl = request.older_than_seconds or self._session_ttl
        return pb.CleanupSessionsResponse(deleted=await self._sessions.cleanup(ttl))

    @unary
    async def UploadFile(self, request_iterator, context):
        first = await anext(aiter(request_iterator), None)
        if first is None or not first.HasField("meta"):
            raise invalid("The first upload message must carry `meta` (agent_id and name).", param="meta")
        await self._agents.get(first.meta.agent_id)

        async def chunks():
            async for part in request_iterator:
                if part.HasField("chunk"):
                    yield part.chunk

        return pb.UploadFileResponse(file=await self._drive.upload(first.meta, chunks()))

    @unary
    async def ListFiles(self, request, context):
        files, token = await self._drive.list(request.agent_id, request.page_size, request.page_token)
        return pb.ListFilesResponse(files=files, next_page_token=token)

    @streaming
    async def DownloadFile(self, request, context):
        info = await self._drive.info(request.agent_id, request.name)
        chunks = self._drive.download(request.agent_id, request.name)
        first = await anext(chunks, None)  # opens the file before anything is sent: a missing one is a clean 404
        yield pb.DownloadFileResponse(meta=info)
        if first is not None:
            yield pb.DownloadFileResponse(chunk=first)
            async for chunk in chunks:
                yield pb.DownloadFileResponse(chunk=chunk)

    @unary
    async def DeleteFile(self, request, context):
        return pb.DeleteFileResponse(deleted=await self._drive.delete(request.agent_id, request.name))
