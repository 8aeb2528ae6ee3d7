"""Per-agent drive: files on local disk (one folder per agent), metadata in Redis.

Uploads stream to a temporary file in the agent's folder and are renamed into place only when
complete and within the size limit, so a broken or oversized upload never leaves a partial file;
downloads stream from disk in fixed chunks. Memory use is one chunk, whatever the file size.
File names are single path components checked before any path is built, and the resolved path must
stay inside the agent's folder.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import redis.asyncio as redis

from services.common.errors import GatewayError, invalid, not_found
from services.runtime.registry import check_id
from tokenyard.runtime.v1 import runtime_pb2

CHUNK = 256 * 1024
_BAD_CHARS = set('/\\\0') | {chr(c) for c in range(32)}


def check_name(name: str) -> str:
    if (not name or len(name.encode()) > 255 or name in (".", "..") or name.startswith(".")
            or any(c in _BAD_CHARS for c in name)):
        raise invalid("File names are 1-255 bytes, with no '/', '\\', control characters or leading '.'.",
                      param="name", code="invalid_file_name")
    return name


def too_large(limit: int) -> GatewayError:
    return GatewayError(grpc.StatusCode.RESOURCE_EXHAUSTED, f"The file is larger than the {limit} byte limit.",
                        "invalid_request_error", "file_too_large", 413, "file")


DRAIN_BYTES = 8 * 1024 * 1024
"""After refusing an oversized upload, read (and drop) up to this much more before answering: a client
blocked on flow control when the call ends sees a local INTERNAL error instead of our 413."""


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    drained = 0
    async for chunk in chunks:
        drained += len(chunk)
        if drained > DRAIN_BYTES:
            return


class Drive:
    def __init__(self, root: Path, max_size: int, client: redis.Redis, clock=time.time) -> None:
        self._root = root.resolve()
        self._max = max_size
        self._redis = client
        self._clock = clock

    def _path(self, agent_id: str, name: str) -> Path:
        folder = self._root / check_id(agent_id)
        path = (folder / check_name(name)).resolve()
        if path.parent != folder.resolve():
            raise invalid("The file name leaves the agent's folder.", param="name", code="invalid_file_name")
        return path

    @staticmethod
    def _meta_key(agent_id: str) -> str:
        return f"ty:{{drive:{agent_id}}}:files"

    @staticmethod
    def _names_key(agent_id: str) -> str:
        return f"ty:{{drive:{agent_id}}}:names"

    async def upload(self, meta: runtime_pb2.FileInfo, chunks: AsyncIterator[bytes]) -> runtime_pb2.FileInfo:
        path = self._path(meta.agent_id, meta.name)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        tmp = path.with_name(f".upload-{secrets.token_hex(8)}")
        digest, size = hashlib.sha256(), 0
        f = await asyncio.to_thread(open, tmp, "wb")
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > self._max:
                    await _drain(chunks)
                    raise too_large(self._max)
                digest.update(chunk)
                await asyncio.to_thread(f.write, chunk)
            await asyncio.to_thread(f.close)
            await asyncio.to_thread(os.replace, tmp, path)
        finally:
            if not f.closed:
                await asyncio.to_thread(f.close)
            await asyncio.to_thread(tmp.unlink, True)
        info = runtime_pb2.FileInfo(agent_id=meta.agent_id, name=meta.name, size=size,
                                    content_type=meta.content_type or "application/octet-stream",
                                    sha256=digest.hexdigest(), created_at_ms=int(self._clock() * 1000))
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self._meta_key(meta.agent_id), meta.name, info.SerializeToString())
        pipe.zadd(self._names_key(meta.agent_id), {meta.name: 0})
        await pipe.execute()
        return info

    async def info(self, agent_id: str, name: str) -> runtime_pb2.FileInfo:
        self._path(agent_id, name)
        raw = await self._redis.hget(self._meta_key(agent_id), name)
        if raw is None:
            raise not_found(f"No file `{name}` in agent `{agent_id}`'s drive.", code="file_not_found", param="name")
        return runtime_pb2.FileInfo.FromString(raw)

    async def list(self, agent_id: str, page_size: int, page_token: str) -> tuple[list[runtime_pb2.FileInfo], str]:
        """A page of files in name order; the token is the last name of the previous page."""
        size = min(max(page_size or 100, 1), 1000)
        start = f"({page_token}" if page_token else "-"
        names = await self._redis.zrangebylex(self._names_key(check_id(agent_id)), start, "+", start=0, num=size + 1)
        page = names[:size]
        raws = await self._redis.hmget(self._meta_key(agent_id), page) if page else []
        files = [runtime_pb2.FileInfo.FromString(r) for r in raws if r]
        return files, page[-1].decode() if len(names) > size else ""

    async def download(self, agent_id: str, name: str) -> AsyncIterator[bytes]:
        path = self._path(agent_id, name)
        try:
            f = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise not_found(f"No file `{name}` in agent `{agent_id}`'s drive.", code="file_not_found",
                            param="name") from None
        try:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                yield chunk
        finally:
            await asyncio.to_thread(f.close)

    async def delete(self, agent_id: str, name: str) -> bool:
        path = self._path(agent_id, name)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hdel(self._meta_key(agent_id), name)
        pipe.zrem(self._names_key(agent_id), name)
        removed, _ = await pipe.execute()
        await asyncio.to_thread(path.unlink, True)
        return bool(removed)

    async def delete_all(self, agent_id: str) -> None:
        folder = self._root / check_id(agent_id)
        names = await self._redis.zrange(self._names_key(agent_id), 0, -1)
        for n in names:
            await self.delete(agent_id, n.decode())
        await asyncio.to_thread(lambda: folder.rmdir() if folder.exists() and not any(folder.iterdir()) else None)
