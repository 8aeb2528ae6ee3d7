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
import os
import struct
import uuid
from pathlib import Path

import structlog

from tokenyard.meter.v1 import meter_pb2

log = structlog.get_logger()
_LEN = struct.Struct(">I")


class DiskSpool:
    """Files of length-prefixed UsageRecords. Blocking I/O: call through asyncio.to_thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.owner = uuid.uuid4().hex[:12]
        self._seq = 0

    def write(self, records: list[meter_pb2.UsageRecord]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        final = self.directory / f"usage-{self.owner}-{self._seq:08d}.spool"
        tmp = final.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(b"".join(_LEN.pack(len(d)) + d for d in (r.SerializeToString() for r in records)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)  # a crash mid-write leaves a .tmp that nobody reads, never half a spool file
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)  # the new name itself survives a power cut, not only the process
        finally:
            os.close(fd)
        return final

    def claim(self) -> list[tuple[Path, list[meter_pb2.UsageRecord]]]:
        """Takes over every spool file in the directory and returns each with its records."""
        out: list[tuple[Path, list[meter_pb2.UsageRecord]]] = []
        if not self.directory.is_dir():
            return out
        for path in sorted(self.directory.glob("usage-*.spool")):
            claimed = path.with_name(f"usage-{self.owner}-claimed-{path.name}")
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # another router claimed it first
            out.append((claimed, _read(claimed.read_bytes())))
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
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._spool = DiskSpool(directory)
        self._waiting: list[tuple[meter_pb2.UsageRecord, asyncio.Future | None]] = []
        self._flusher: asyncio.Task | None = None
        self._file: dict[int, Path] = {}      # id(record) -> the journal file holding it
        self._left: dict[Path, int] = {}      # journal file -> records in it not yet acknowledged
        self._inflight: set[int] = set()      # waiting for (or in) a group commit
        self._acked_early: set[int] = set()   # acknowledged while still waiting for their fsync
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
            path = None
            if fresh:
                try:
                    path = await asyncio.to_thread(self._spool.write, fresh)
                except OSError as exc:
                    self.failed_writes += 1
                    log.error("usage_journal_write_failed", error=str(exc), records=len(fresh),
                              directory=str(self.directory))
            if path is not None:
                live = [r for r in fresh if id(r) not in self._acked_early]  # acked during the fsync
                for r in live:
                    self._file[id(r)] = path
                self._left[path] = len(live)
                if not live:
                    await asyncio.to_thread(path.unlink, True)
            for r, future in batch:
                self._acked_early.discard(id(r))
                self._inflight.discard(id(r))
                if future is not None and not future.done():
                    future.set_result(None)

    async def acknowledged(self, records: list[meter_pb2.UsageRecord]) -> None:
        """The meter has these records: journal files whose records are all acknowledged are deleted."""
        done: list[Path] = []
        for r in records:
            path = self._file.pop(id(r), None)
            if path is None:
                if id(r) in self._inflight:
                    self._acked_early.add(id(r))  # its fsync is under way or queued
                continue
            self._left[path] -= 1
            if self._left[path] == 0:
                del self._left[path]
                done.append(path)
        if done:
            await asyncio.to_thread(lambda: [p.unlink(missing_ok=True) for p in done])

    def forget(self, record: meter_pb2.UsageRecord) -> None:
        """`record` was dropped (the queue is full): its journal file may go once the rest is acknowledged,
        so the journal stays as bounded as the queue."""
        path = self._file.pop(id(record), None)
        if path is not None:
            self._left[path] -= 1
            if self._left[path] == 0:
                del self._left[path]
                path.unlink(missing_ok=True)

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
        """Waits for the journal writes under way (shutdown)."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
