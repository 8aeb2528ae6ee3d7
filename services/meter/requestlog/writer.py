"""Writes request log rows off the request path: queued, batched, retried, and dropped rather than waited for.

`submit()` only appends to an in-memory queue (bounded by `max_pending`) and wakes the writer task.
The task lingers a moment after the first row, writes up to `batch_size` rows in one transaction,
and on failure (store unreachable, disk full) keeps the batch, marks itself unhealthy and retries
with capped backoff; while it cannot write, rows past the bound are dropped and counted. Nothing a
store does can block or fail RecordUsage: the meter's Redis ledger, not this log, is the record of
money. A sweeper applies retention and the size cap on a schedule.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from services.meter.requestlog.settings import RequestLogSettings

log = structlog.get_logger()


class RequestLogMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.written = Counter("tokenyard_request_log_written", "Request log rows written", registry=registry)
        self.dropped = Counter("tokenyard_request_log_dropped", "Request log rows dropped (queue full while the "
                               "store could not keep up or was down)", registry=registry)
        self.failures = Counter("tokenyard_request_log_write_failures", "Failed request log writes (batches)",
                                registry=registry)
        self.pending = Gauge("tokenyard_request_log_pending", "Request log rows waiting to be written",
                             registry=registry)
        self.up = Gauge("tokenyard_request_log_up", "1 while the request log store accepts writes", registry=registry)
        self.rows = Gauge("tokenyard_request_log_rows", "Rows in the request log at the last sweep", registry=registry)


class RequestLogWriter:
    def __init__(self, store, settings: RequestLogSettings, metrics: RequestLogMetrics | None = None,
                 clock: Callable[[], float] = time.time, sleep=asyncio.sleep,
                 encode: Callable[[object], tuple] | None = None) -> None:
        """`encode`: turns a submitted item into the store's row when its batch is written (so building rows
        costs the writer task, not the caller of submit); items are rows already when it is None."""
        self.store = store
        self._encode = encode
        self._s = settings
        self._metrics = metrics or RequestLogMetrics(CollectorRegistry())
        self._clock, self._sleep = clock, sleep
        self._queue: collections.deque[tuple] = collections.deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.healthy, self.last_error = True, ""
        self.written = self.dropped = self.rows = 0
        self._metrics.up.set(1)

    def submit(self, rows: list) -> None:
        room = self._s.max_pending - len(self._queue)
        if room < len(rows):
            self._drop(len(rows) - max(room, 0))
            rows = rows[:max(room, 0)]
        self._queue.extend(rows)
        self._metrics.pending.set(len(self._queue))
        if rows:
            self._wake.set()

    async def write_or_queue(self, items: list, timeout: float = 1.0) -> None:
        """Writes `items` now, within `timeout`; queues them when the store is failing, slow, or already has
        rows waiting (which keeps the order). Never raises. A write that timed out may still land: then the
        queued copy is skipped by the store (one row per request id)."""
        if self._queue or not self.healthy:
            self.submit(items)
            return
        try:
            async with asyncio.timeout(timeout):
                await self.store.write([self._encode(x) for x in items] if self._encode else items)
        except Exception as exc:  # any store failure (a timeout too): queue, the write loop retries
            self._metrics.failures.inc()
            self._set_health(False, f"{type(exc).__name__}: {exc}"[:300])
            self.submit(items)
            return
        self.written += len(items)
        self._metrics.written.inc(len(items))
        self._set_health(True)

    def _drop(self, n: int) -> None:
        self.dropped += n
        self._metrics.dropped.inc(n)
        log.warning("request_log_rows_dropped", count=n, pending=len(self._queue), error=self.last_error)

    def _set_health(self, ok: bool, error: str = "") -> None:
        if ok != self.healthy:
            (log.info if ok else log.warning)("request_log_store_" + ("recovered" if ok else "failing"),
                                             backend=self.store.backend, error=error)
        self.healthy, self.last_error = ok, error
        self._metrics.up.set(1 if ok else 0)

    async def flush_once(self) -> bool:
        """Writes one batch; False when the store refused it (the batch stays queued)."""
        batch = [self._queue[i] for i in range(min(self._s.batch_size, len(self._queue)))]
        if not batch:
            return True
        try:
            await self.store.write([self._encode(x) for x in batch] if self._encode else batch)
        except Exception as exc:  # any store failure: unhealthy, keep the rows, never raise into the meter
            self._metrics.failures.inc()
            self._set_health(False, f"{type(exc).__name__}: {exc}"[:300])
            return False
        for _ in batch:
            self._queue.popleft()
        self.written += len(batch)
        self._metrics.written.inc(len(batch))
        self._metrics.pending.set(len(self._queue))
        self._set_health(True)
        return True

    async def _write_loop(self) -> None:
        backoff = 0.5
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._s.linger:
                await self._sleep(self._s.linger)
            while self._queue:
                if await self.flush_once():
                    backoff = 0.5
                else:
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, 30.0)

    async def sweep(self) -> None:
        cutoff = int((self._clock() - self._s.retention_days * 86400) * 1000)
        try:
            deleted, self.rows = await self.store.sweep(cutoff, self._s.max_rows)
        except Exception as exc:
            self._set_health(False, f"{type(exc).__name__}: {exc}"[:300])
            return
        self._metrics.rows.set(self.rows)
        if deleted:
            log.info("request_log_swept", deleted=deleted, rows=self.rows)

    async def _sweep_loop(self) -> None:
        while True:
            await self.sweep()
            await self._sleep(self._s.sweep_interval)

    async def start(self) -> None:
        try:
            await self.store.open()
        except Exception as exc:  # a store that is down at start is retried by the writer, like any failure
            self._set_health(False, f"{type(exc).__name__}: {exc}"[:300])
        self._tasks = [asyncio.create_task(self._write_loop()), asyncio.create_task(self._sweep_loop())]

    async def aclose(self, grace: float = 2.0) -> None:
        """Writes what is queued (within `grace` seconds), then closes the store."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._drain(), grace)
        with contextlib.suppress(Exception):
            await self.store.aclose()

    async def _drain(self) -> None:
        while self._queue and await self.flush_once():
            pass

    def status(self) -> dict:
        return {"backend": self.store.backend, "healthy": self.healthy, "last_error": self.last_error,
                "pending": len(self._queue), "written": self.written, "dropped": self.dropped, "rows": self.rows,
                "max_rows": self._s.max_rows, "retention_days": self._s.retention_days}
