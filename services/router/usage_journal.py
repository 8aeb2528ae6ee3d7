"""The router's usage journal: a record is on disk (fsynced) before the client sees the end of its answer.

A router killed with `kill -9` loses nothing it had answered: every record is appended to a journal
file before the final message of its answer goes out, and the file is deleted only once the meter has
acknowledged every record in it. A starting router claims the files a previous process left (by
renaming them, so two routers sharing a directory never both own one) and re-sends them; the meter
applies each request id once, so a record sent by both the dead process and the new one counts once.

Group commit keeps it cheap: records that arrive while one fsync is under way share the next one, so
under load a journal write costs one fsync per batch of concurrent answers, not one per request.
"""
from __future__ import annotations

import asyncio
import fcntl
import os
import struct
import uuid
from pathlib import Path

import structlog

from tokenyard.meter.v1 import meter_pb2

log = structlog.get_logger()
_LEN = struct.Struct(">I")


SEGMENT_BYTES = 4 << 20
"""A journal segment past this size is closed and a new one started (the old one goes once acknowledged)."""


class DiskSpool:
    """Journal segments: files of length-prefixed UsageRecords, appended to and fdatasync'ed per group commit.
    Blocking I/O: call through asyncio.to_thread, one call at a time."""

    def __init__(self, directory: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.owner = uuid.uuid4().hex[:12]
        self._seq = 0
        self._segment_bytes = segment_bytes
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0

    def append(self, records: list[meter_pb2.UsageRecord]) -> Path:
        """Appends `records` to the current segment and returns once they are on disk."""
        if self._fd is None:
            self._open()
        data = memoryview(b"".join(_LEN.pack(len(d)) + d for d in (r.SerializeToString() for r in records)))
        while data:  # a crash mid-append leaves a torn last record, which the reader skips
            data = data[os.write(self._fd, data):]
        os.fdatasync(self._fd)
        self._size += len(data.obj)
        path = self._path
        if self._size >= self._segment_bytes:
            os.close(self._fd)
            self._fd, self._path = None, None
        return path

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        self._path = self.directory / f"usage-{self.owner}-{self._seq:08d}.spool"
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live segment: no other router claims it
        self._size = 0
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)  # the segment's name survives a power cut, not only the process
        finally:
            os.close(fd)

    def retire(self, path: Path) -> None:
        """Every record in `path` is acknowledged: an old segment is deleted, the current one emptied."""
        if path == self._path and self._fd is not None:
            os.ftruncate(self._fd, 0)  # O_APPEND: the next write starts again at offset 0
            self._size = 0
        else:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd, self._path = None, None

    def claim(self) -> list[tuple[Path, list[meter_pb2.UsageRecord]]]:
        """Takes over every segment no live router holds (a dead one's lock is gone with it) and returns
        each with its records."""
        out: list[tuple[Path, list[meter_pb2.UsageRecord]]] = []
        if not self.directory.is_dir():
            return out
        for path in sorted(self.directory.glob("usage-*.spool")):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # another router claimed it first
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its router is alive and still appending to it
                claimed = path.with_name(f"usage-{self.owner}-claimed-{path.name}")
                try:
                    os.rename(path, claimed)
                except FileNotFoundError:
                    continue
                with os.fdopen(os.dup(fd), "rb") as f:
                    out.append((claimed, _read(f.read())))
            finally:
                os.close(fd)
        return out


def _read(data: bytes) -> list[meter_pb2.UsageRecord]:
    records, pos = [], 0
    while pos + _LEN.size <= len(data):
        (n,) = _LEN.unpack_from(data, pos)
        pos += _LEN.size
        if pos + n > len(data):
            break
        records.append(meter_pb2.UsageRecord.FromString(data[pos:pos + n]))
        pos += n
    return records


class UsageJournal:
    def __init__(self, directory: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self._spool = DiskSpool(directory, segment_bytes)
        self._lock = asyncio.Lock()           # one spool call at a time (appends, retirements)
        self._waiting: list[tuple[meter_pb2.UsageRecord, asyncio.Future | None]] = []
        self._flusher: asyncio.Task | None = None
        self._file: dict[int, Path] = {}      # id(record) -> the segment holding it
        self._left: dict[Path, int] = {}      # segment -> records in it not yet acknowledged
        self._inflight: set[int] = set()      # waiting for (or in) a group commit
        self._acked_early: set[int] = set()   # acknowledged while still waiting for their fsync
        self._background: set[asyncio.Task] = set()
        self.failed_writes = 0

    async def commit(self, record: meter_pb2.UsageRecord) -> None:
        """Returns once `record` is on disk (or its write failed, which is logged: it is still sent)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((record, future))
        self._inflight.add(id(record))
        self._kick()
        await asyncio.shield(future)

    def commit_soon(self, record: meter_pb2.UsageRecord) -> None:
        """Journals `record` with the next group commit, without waiting for it."""
        self._waiting.append((record, None))
        self._inflight.add(id(record))
        self._kick()

    def _kick(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush(), name="usage-journal")

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            fresh = [r for r, _ in batch if id(r) not in self._acked_early]
            if fresh:
                await self._append(fresh)
            for r, future in batch:
                self._acked_early.discard(id(r))
                self._inflight.discard(id(r))
                if future is not None and not future.done():
                    future.set_result(None)

    async def _append(self, records: list[meter_pb2.UsageRecord]) -> None:
        async with self._lock:
            try:
                path = await asyncio.to_thread(self._spool.append, records)
            except OSError as exc:
                self.failed_writes += 1
                log.error("usage_journal_write_failed", error=str(exc), records=len(records),
                          directory=str(self.directory))
                return
            live = [r for r in records if id(r) not in self._acked_early]  # acked during the fsync
            for r in live:
                self._file[id(r)] = path
            self._left[path] = self._left.get(path, 0) + len(live)
            if self._left[path] == 0:
                await self._retire(path)

    async def acknowledged(self, records: list[meter_pb2.UsageRecord]) -> None:
        """The meter has these records: segments whose records are all acknowledged are retired."""
        done: list[Path] = []
        for r in records:
            path = self._file.pop(id(r), None)
            if path is None:
                if id(r) in self._inflight:
                    self._acked_early.add(id(r))  # its fsync is under way or queued
                continue
            self._left[path] -= 1
            if self._left[path] == 0:
                done.append(path)
        await self._retire_done(done)

    async def _retire_done(self, paths: list[Path]) -> None:
        if not paths:
            return
        async with self._lock:
            for path in paths:
                if self._left.get(path) == 0:  # nothing appended to it meanwhile
                    await self._retire(path)

    async def _retire(self, path: Path) -> None:
        del self._left[path]
        try:
            await asyncio.to_thread(self._spool.retire, path)
        except OSError as exc:
            log.error("usage_journal_retire_failed", error=str(exc), path=str(path))

    def forget(self, record: meter_pb2.UsageRecord) -> None:
        """`record` was dropped (the queue is full): its segment may go once the rest is acknowledged, so
        the journal stays as bounded as the queue."""
        path = self._file.pop(id(record), None)
        if path is not None:
            self._left[path] -= 1
            if self._left[path] == 0:
                task = asyncio.get_running_loop().create_task(self._retire_done([path]))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    async def recover(self) -> list[meter_pb2.UsageRecord]:
        """Records a previous process journaled and the meter may not have: to be sent again."""
        try:
            claimed = await asyncio.to_thread(self._spool.claim)
        except OSError as exc:
            log.error("usage_journal_unreadable", error=str(exc), directory=str(self.directory))
            return []
        out: list[meter_pb2.UsageRecord] = []
        for path, records in claimed:
            if not records:
                await asyncio.to_thread(path.unlink, True)
                continue
            self._left[path] = len(records)
            for r in records:
                self._file[id(r)] = path
            out += records
        return out

    async def drain(self) -> None:
        """Waits for the journal writes under way, then closes the segment (shutdown)."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        async with self._lock:
            self._spool.close()
