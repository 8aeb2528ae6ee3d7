"""The router's usage journal: on disk before commit returns, one fsync per group, files deleted once the
meter acknowledged all their records, and what a dead process left is recovered exactly once."""
from __future__ import annotations

import asyncio

from services.router.usage_journal import DiskSpool, UsageJournal
from tokenyard.meter.v1 import meter_pb2


def rec(i: int) -> meter_pb2.UsageRecord:
    return meter_pb2.UsageRecord(request_id=f"r{i}", model="m", status="ok")


def on_disk(directory) -> list[str]:
    """Request ids in the journal files, as a restarted router would read them."""
    return sorted(r.request_id for _, records in DiskSpool(directory).claim() for r in records)


async def test_commit_returns_once_the_record_is_on_disk(tmp_path):
    journal = UsageJournal(tmp_path)
    await journal.commit(rec(1))
    assert on_disk(tmp_path) == ["r1"]


async def test_concurrent_commits_share_one_write(tmp_path):
    journal = UsageJournal(tmp_path)
    await asyncio.gather(*(journal.commit(rec(i)) for i in range(50)))
    assert len(list(tmp_path.glob("usage-*.spool"))) == 1
    assert on_disk(tmp_path) == sorted(f"r{i}" for i in range(50))


async def test_a_file_is_deleted_once_every_record_in_it_is_acknowledged(tmp_path):
    journal = UsageJournal(tmp_path)
    records = [rec(i) for i in range(3)]
    await asyncio.gather(*(journal.commit(r) for r in records))
    await journal.acknowledged(records[:2])
    assert len(list(tmp_path.glob("usage-*.spool"))) == 1
    await journal.acknowledged(records[2:])
    assert list(tmp_path.glob("usage-*")) == []


async def test_a_record_acknowledged_before_its_fsync_is_not_left_on_disk(tmp_path):
    journal = UsageJournal(tmp_path)
    r = rec(1)
    journal.commit_soon(r)
    await journal.acknowledged([r])  # the meter answered before the group commit ran
    await journal.drain()
    assert list(tmp_path.glob("usage-*")) == []


async def test_a_restarted_router_recovers_what_a_dead_one_journaled_and_clears_it_once_acknowledged(tmp_path):
    dead = UsageJournal(tmp_path)
    await asyncio.gather(*(dead.commit(rec(i)) for i in range(4)))
    await dead.acknowledged([])  # killed before the meter answered
    second = UsageJournal(tmp_path)
    recovered = await second.recover()
    assert sorted(r.request_id for r in recovered) == ["r0", "r1", "r2", "r3"]
    await second.acknowledged(recovered)
    assert list(tmp_path.glob("usage-*")) == []
