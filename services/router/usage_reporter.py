"""Sends usage records to the meter off the response path, in batches, retrying until it answers.

Recording never delays a client: `submit()` only queues. A background task drains the queue in
batches (one RPC for everything that queued meanwhile). When the meter is unreachable records wait and
are retried with backoff; the meter applies each request id once, so a retry never counts twice.
"""
from __future__ import annotations

import asyncio
import collections

import grpc
import structlog

from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

log = structlog.get_logger()


class UsageReporter:
    def __init__(self, meter: meter_pb2_grpc.MeterServiceStub, max_pending: int = 200_000, batch: int = 500,
                 rpc_timeout: float = 5.0) -> None:
        self._meter = meter
        self._pending: collections.deque[meter_pb2.UsageRecord] = collections.deque()
        self._max_pending = max_pending
        self._batch = batch
        self._timeout = rpc_timeout
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="usage-reporter")

    def submit(self, record: meter_pb2.UsageRecord) -> None:
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self.dropped += 1
            log.error("usage_spool_full_dropped_oldest", dropped=self.dropped)
        self._pending.append(record)
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            batch = [self._pending[i] for i in range(min(self._batch, len(self._pending)))]
            try:
                await self._meter.RecordUsage(meter_pb2.RecordUsageRequest(records=batch), timeout=self._timeout)
            except grpc.aio.AioRpcError as exc:
                log.warning("usage_report_failed", error=exc.code().name, pending=len(self._pending), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            # By identity: submit() may have dropped the oldest while this batch was in flight.
            sent = {id(r) for r in batch}
            while self._pending and id(self._pending[0]) in sent:
                self._pending.popleft()

    async def close(self, timeout: float = 5.0) -> None:
        """Flushes what is queued (within `timeout`), then stops."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._pending and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        if self._pending:
            log.error("usage_unsent_at_shutdown", pending=len(self._pending))
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
