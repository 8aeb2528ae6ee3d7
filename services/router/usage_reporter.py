"""Sends usage records to the meter off the response path, in batches, retrying until it answers.

Recording never delays a client beyond one group-committed fsync: `commit()` journals the record
(services/router/usage_journal.py) and returns once it is on disk, and the answer's final message goes
out after that; `submit()` journals without waiting (records nobody is waiting on: cancellations,
losing hedges). A background task drains the queue in batches: after the first record of a batch it
lingers `linger` seconds (default 20 ms) so the records of concurrent requests share one RPC and one
Redis pipeline at the meter. When the meter is unreachable records wait and are retried with backoff;
the meter applies each request id once, so a retry never counts twice.

The journal directory is `TOKENYARD_USAGE_SPOOL` (default `.data/usage-spool`); a starting reporter
re-sends whatever a previous process left there, so a router killed (even with SIGKILL) while the
meter is down, or while records were on their way, loses nothing it had answered.

A meter that answers but refuses a batch for a reason retrying cannot cure (FAILED_PRECONDITION: its
Redis is a Cluster it reaches without a cluster URL; INVALID_ARGUMENT...) gets it once: the batch leaves
the queue unacknowledged, so it stays in the journal, where the next start (with the configuration fixed)
re-sends it, instead of being re-sent every few seconds forever while the queue behind it grows.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import os
from pathlib import Path

import grpc
import structlog
from opentelemetry import trace

from services.router.usage_journal import DiskSpool, UsageJournal
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

__all__ = ["DiskSpool", "UsageReporter"]
log = structlog.get_logger()
DEFAULT_SPOOL = Path(__file__).resolve().parents[2] / ".data" / "usage-spool"
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
                       grpc.StatusCode.ABORTED, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN})
"""Answers a later attempt may not get. UNKNOWN stays here: a meter killed mid-call can produce it."""


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
        self.journal = UsageJournal(spool_dir)
        # Trace context of pending records (tracing on only), so the meter's spans join the request's trace.
        self._span_contexts: dict[int, trace.SpanContext] = {}
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="usage-reporter")

    def submit(self, record: meter_pb2.UsageRecord) -> None:
        """Queues `record` for the meter; it reaches the journal with the next group commit."""
        self._enqueue(record)
        self.journal.commit_soon(record)

    async def commit(self, record: meter_pb2.UsageRecord) -> None:
        """Queues `record` and returns once it is on disk: call before the client sees the end of its answer."""
        self._enqueue(record)
        await self.journal.commit(record)

    def _enqueue(self, record: meter_pb2.UsageRecord) -> None:
        if len(self._pending) >= self._max_pending:
            oldest = self._pending.popleft()
            self._span_contexts.pop(id(oldest), None)
            self.journal.forget(oldest)
            self.dropped += 1
            log.error("usage_spool_full_dropped_oldest", dropped=self.dropped, request_id=oldest.request_id)
        self._pending.append(record)
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid and span_context.trace_flags.sampled:
            self._span_contexts[id(record)] = span_context
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def _recover(self) -> None:
        records = await self.journal.recover()
        if records:
            log.info("usage_spool_recovered", records=len(records))
            self._pending.extendleft(reversed(records))

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
                    self._park(batch, exc)
                    continue
                log.warning("usage_report_failed", error=exc.code().name, pending=len(self._pending), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            # By identity: submit() may have dropped the oldest while this batch was in flight.
            sent = {id(r) for r in batch}
            while self._pending and id(self._pending[0]) in sent:
                self._pending.popleft()
            await self.journal.acknowledged(batch)

    def _park(self, batch: list[meter_pb2.UsageRecord], exc: grpc.aio.AioRpcError) -> None:
        """Off the queue, not acknowledged: the journal keeps the batch for the next start."""
        sent = {id(r) for r in batch}
        self._pending = collections.deque(r for r in self._pending if id(r) not in sent)
        for r in batch:
            self._span_contexts.pop(id(r), None)
        log.error("usage_report_refused_parked", error=exc.code().name, detail=exc.details(), records=len(batch),
                  directory=str(self.journal.directory),
                  hint="fix the meter's configuration; the next router start re-sends these records")

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
        await self.journal.drain()
        if self._pending:
            log.warning("usage_spooled_at_shutdown", pending=len(self._pending), directory=str(self.journal.directory))
