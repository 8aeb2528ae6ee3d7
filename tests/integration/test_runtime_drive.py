"""Per-agent drive over gRPC: streamed upload and download, pagination, size limit, no path escape."""
from __future__ import annotations

import asyncio

import hashlib
import os

import grpc
import pytest

from tests.fakes.agent_runtime import running_runtime
from tokenyard.runtime.v1 import runtime_pb2 as pb


@pytest.fixture
async def rt(redis_server, redis_client, tmp_path):
    async with running_runtime(redis_server.url, tmp_path, drive_max_file_size=300_000) as rt:
        await rt.stub.CreateAgent(pb.CreateAgentRequest(agent=pb.Agent(id="filer")))
        yield rt


async def upload(rt, name: str, data: bytes, agent_id: str = "filer", chunk: int = 64 * 1024) -> pb.FileInfo:
    """Writes the parts one by one, as the edge does: when the runtime refuses mid-upload, the call's own
    status (not a failed write) says why."""
    call = rt.stub.UploadFile()
    try:
        await call.write(pb.UploadFileRequest(meta=pb.FileInfo(agent_id=agent_id, name=name, content_type="text/plain")))
        for i in range(0, len(data), chunk):
            await call.write(pb.UploadFileRequest(chunk=data[i:i + chunk]))
        await call.done_writing()
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        pass
    return (await call).file


async def download(rt, name: str) -> tuple[pb.FileInfo, bytes]:
    meta, body = None, bytearray()
    async for part in rt.stub.DownloadFile(pb.DownloadFileRequest(agent_id="filer", name=name)):
        if part.HasField("meta"):
            meta = part.meta
        else:
            body += part.chunk
    return meta, bytes(body)


async def test_upload_list_download_delete(rt, tmp_path):
    data = os.urandom(250_000)
    info = await upload(rt, "report v1.txt", data)
    assert info.size == len(data) and info.sha256 == hashlib.sha256(data).hexdigest()
    meta, body = await download(rt, "report v1.txt")
    assert body == data and meta.size == len(data) and meta.content_type == "text/plain"
    assert (tmp_path / "drive" / "filer" / "report v1.txt").read_bytes() == data
    for n in range(5):
        await upload(rt, f"f{n}", b"x")
    names, token = [], ""
    while True:
        page = await rt.stub.ListFiles(pb.ListFilesRequest(agent_id="filer", page_size=2, page_token=token))
        names += [f.name for f in page.files]
        token = page.next_page_token
        if not token:
            break
    assert names == ["f0", "f1", "f2", "f3", "f4", "report v1.txt"]
    assert (await rt.stub.DeleteFile(pb.DeleteFileRequest(agent_id="filer", name="f0"))).deleted
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await download(rt, "f0")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("name", ["../escape", "..", "a/b", "/etc/passwd", ".hidden", "a\\b", "nul\0byte", ""])
async def test_file_names_cannot_escape_the_agents_folder(rt, tmp_path, name):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await upload(rt, name, b"data")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await download(rt, name)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not (tmp_path / "escape").exists() and not (tmp_path / "drive" / "escape").exists()


async def test_oversized_uploads_are_refused_and_leave_no_partial_file(rt, tmp_path):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await upload(rt, "big.bin", os.urandom(400_000))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert dict(err.value.trailing_metadata())["ty-http-status"] == "413"
    assert list((tmp_path / "drive" / "filer").iterdir()) == []
    assert (await rt.stub.ListFiles(pb.ListFilesRequest(agent_id="filer"))).files == []


async def test_uploads_need_an_existing_agent_and_meta_first(rt):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await upload(rt, "x.txt", b"data", agent_id="nobody")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND

    async def chunk_first():
        yield pb.UploadFileRequest(chunk=b"data")

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rt.stub.UploadFile(chunk_first())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
