"""Sends usage records to the meter off the response path, in batches, retrying until it answers.

Recording never delays a client: `submit()` only queues. A background task drains the queue in
batches: after the first record of a batch it lingers `linger` seconds (default 20 ms) so the records
of concurrent requests share one RPC and one Redis pipeline at the meter (a RecordUsage call costs the
router and the meter far more than one record in it). When the meter is unreachable records wait and
are retried with backoff; the meter applies each request id once, so a retry never counts twice.

While the meter is unreachable, and at shutdown with records unsent, the queue is also written to a
spool directory on disk (`TOKENYARD_USAGE_SPOOL`, default `.data/usage-spool`), and a starting
reporter re-sends whatever a previous process left there: a router restarted during a meter outage
loses nothing. Spool files are claimed by renaming them, so two routers sharing a directory never
both own one; if they did, the meter's idempotency would still count each record once.

A meter that answers but refuses a batch for a reason retrying cannot cure (FAILED_PRECONDITION: its
Redis is a Cluster it reaches without a cluster URL; INVALID_ARGUMENT...) gets it once: the batch is
parked in the spool, where the next start (with the configuration fixed) re-sends it, instead of being
re-sent every few seconds forever while the queue behind it grows.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import struct
import uuid
from pathlib import Path

import grpc
import structlog
from opentelemetry import trace

from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

log = structlog.get_logger()
DEFAULT_SPOOL = Path(__file__).resolve().parents[2] / ".data" / "usage-spool"
_LEN = struct.Struct(">I")
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
                       grpc.StatusCode.ABORTED, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN})
"""Answers a later attempt may not get. UNKNOWN stays here: a meter killed mid-call can produce it."""


class DiskSpool:
    """Files of length-prefixed UsageRecords. Blocking I/O: call through asyncio.to_thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.owner = uuid.uuid4().hex[:12]
        self._seq = 0
        self.mine: list[Path] = []

    def write(self, records: list[meter_pb2.UsageRecord]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        final = self.directory / f"usage-{self.owner}-{self._seq:08d}.spool"
        tmp = final.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            for r in records:
                data = r.SerializeToString()
                f.write(_LEN.pack(len(data)) + data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)  # a crash mid-write leaves a .tmp that nobody reads, never half a spool file
        self.mine.append(final)

    def park(self, records: list[meter_pb2.UsageRecord]) -> Path:
        """Writes records for the next start only: this process will not re-send them, nor clear them."""
        self.write(records)
        return self.mine.pop()

    def claim(self) -> list[meter_pb2.UsageRecord]:
        """Takes over every spool file in the directory and returns their records."""
        records: list[meter_pb2.UsageRecord] = []
        if not self.directory.is_dir():
            return records
        for path in sorted(self.directory.glob("usage-*.spool")):
            claimed = path.with_name(f"usage-{self.owner}-claimed-{path.name}")
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # another router claimed it first
            self.mine.append(claimed)
            data = claimed.read_bytes()
            pos = 0
            while pos + _LEN.size <= len(data):
                (n,) = _LEN.unpack_from(data, pos)
                pos += _LEN.size
                if pos + n > len(data):
                    break
                records.append(meter_pb2.UsageRecord.FromString(data[pos:pos + n]))
                pos += n
        return records

    def clear(self) -> None:
        """Everything this process spooled has been acknowledged by the meter."""
        for path in self.mine:
            path.unlink(missing_ok=True)
        self.mine.clear()


class UsageReporter:
    def __init__(self, meter: meter_pb2_grpc.MeterServiceStub, max_pending: int = 200_000, batch: int = 500,
                 rpc_timeout: float = 5.0, spool_dir: Path | None = None, linger: float = 0.02) -> None:
        self._meter = meter
        self._pending: collections.deque[meter_pb2.UsageRecord] = collections.deque()
        self._max_pending = max_pending
        self._batch = batch
        self._timeout = rpc_timeout
        self._linger = linger
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        spool_dir = spool_dir or Path(os.environ.get("TOKENYARD_USAGE_SPOOL") or DEFAULT_SPOOL)
        self._spool = DiskSpool(spool_dir)
        self._on_disk: set[int] = set()  # ids of pending records already in a spool file
        # Trace context of pending records (tracing on only), so the meter's spans join the request's trace.
        self._span_contexts: dict[int, trace.SpanContext] = {}
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="usage-reporter")

    def submit(self, record: meter_pb2.UsageRecord) -> None:
        if len(self._pending) >= self._max_pending:
            oldest = id(self._pending.popleft())
            self._on_disk.discard(oldest)
            self._span_contexts.pop(oldest, None)
            self.dropped += 1
            log.error("usage_spool_full_dropped_oldest", dropped=self.dropped)
        self._pending.append(record)
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid and span_context.trace_flags.sampled:
            self._span_contexts[id(record)] = span_context
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def _recover(self) -> None:
        try:
            records = await asyncio.to_thread(self._spool.claim)
        except OSError as exc:
            log.error("usage_spool_unreadable", error=str(exc), directory=str(self._spool.directory))
            return
        if records:
            log.info("usage_spool_recovered", records=len(records))
            self._pending.extendleft(reversed(records))
            self._on_disk.update(id(r) for r in records)

    async def _save(self) -> None:
        """Writes pending records that are not on disk yet (meter unreachable, or shutting down)."""
        fresh = [r for r in self._pending if id(r) not in self._on_disk]
        if not fresh:
            return
        try:
            await asyncio.to_thread(self._spool.write, fresh)
            self._on_disk.update(id(r) for r in fresh)
        except OSError as exc:
            log.error("usage_spool_write_failed", error=str(exc), pending=len(self._pending))

    async def _run(self) -> None:
        await self._recover()
        backoff = 0.1
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            if self._linger > 0 and len(self._pending) < self._batch:
                await asyncio.sleep(self._linger)
            batch = [self._pending[i] for i in range(min(self._batch, len(self._pending)))]
            try:
                with self._traced(batch):
                    await self._meter.RecordUsage(meter_pb2.RecordUsageRequest(records=batch), timeout=self._timeout)
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in RETRYABLE:
                    await self._park(batch, exc)
                    continue
                log.warning("usage_report_failed", error=exc.code().name, pending=len(self._pending), retry_in=backoff)
                await self._save()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            # By identity: submit() may have dropped the oldest while this batch was in flight.
            sent = {id(r) for r in batch}
            while self._pending and id(self._pending[0]) in sent:
                self._on_disk.discard(id(self._pending.popleft()))
            if not self._pending and self._spool.mine:
                await asyncio.to_thread(self._spool.clear)
                self._on_disk.clear()

    async def _park(self, batch: list[meter_pb2.UsageRecord], exc: grpc.aio.AioRpcError) -> None:
        try:
            path = await asyncio.to_thread(self._spool.park, batch)
        except OSError as err:
            log.error("usage_spool_write_failed", error=str(err), pending=len(self._pending))
            await asyncio.sleep(5.0)  # keep them in memory; try again later rather than lose them
            return
        sent = {id(r) for r in batch}
        self._pending = collections.deque(r for r in self._pending if id(r) not in sent)
        self._on_disk -= sent
        log.error("usage_report_refused_parked", error=exc.code().name, detail=exc.details(), records=len(batch),
                  file=str(path), hint="fix the meter's configuration; the next router start re-sends the file")

    def _traced(self, batch: list[meter_pb2.UsageRecord]):
        """Sends a batch under the trace of its first traced record (a batch is usually one request)."""
        if not self._span_contexts:
            return contextlib.nullcontext()
        found = [c for c in (self._span_contexts.pop(id(r), None) for r in batch) if c is not None]
        if not found:
            return contextlib.nullcontext()
        return trace.use_span(trace.NonRecordingSpan(found[0]), end_on_exit=False)

    async def close(self, timeout: float = 5.0) -> None:
        """Flushes what is queued (within `timeout`); what is left goes to the spool for the next start."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._pending and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._pending:
            await self._save()
            log.warning("usage_spooled_at_shutdown", pending=len(self._pending), directory=str(self._spool.directory))
