"""The meter's request log: applied usage records in, explorer queries out (over whichever store is configured)."""
from __future__ import annotations

from services.meter.requestlog.entry import RequestFilter, entry_of, page, row_of
from services.meter.requestlog.writer import RequestLogWriter
from tokenyard.meter.v1 import meter_pb2

SKIPPED_STATUSES = ("hedge_lost",)
"""A losing hedge, or an agent that failed before its fallback answered, has its own usage record (it is
billed, `attempt_of` names its request) but is an attempt of that request, not a request: it shows in the
request's attempt timeline, not as a row of its own."""


def encode_row(item: tuple[meter_pb2.UsageRecord, int, bool]) -> tuple:
    """What RequestLog.add queues -> the store's row (the writer's `encode`)."""
    return row_of(*item)


class RequestLog:
    def __init__(self, writer: RequestLogWriter) -> None:
        self.writer = writer

    async def add(self, records: list[tuple[meter_pb2.UsageRecord, int]]) -> None:
        """Records applied by the ledger just now, each with its cost. Written before RecordUsage answers, so
        its acknowledgement (after which the router forgets the records) means the rows are stored: a meter
        killed right after answering loses none. A failing, slow or backed-up store gets them queued instead
        (bounded, dropped and counted when full): the store never holds up or fails metering."""
        items = [(r, cost, not r.HasField("cost_known") or r.cost_known)  # as the ledger counts it
                 for r, cost in records if not r.attempt_of and r.status not in SKIPPED_STATUSES]
        if items:
            await self.writer.write_or_queue(items)

    async def list(self, f: RequestFilter) -> tuple[list[meter_pb2.RequestLogEntry], str]:
        return page(await self.writer.store.query(f), f.limit)

    async def get(self, request_id: str, workspace: str = "") -> meter_pb2.RequestLogEntry | None:
        row = await self.writer.store.get(request_id)
        if row is None:
            return None
        entry = entry_of(row)
        return None if workspace and entry.workspace != workspace else entry
