"""The router's usage journal: on disk before commit returns, one fdatasync per group, segments emptied or
deleted once the meter acknowledged all their records, and what a dead process left recovered exactly once."""
from __future__ import annotations

import asyncio

from services.router.usage_journal import UsageJournal, _read
from tokenyard.meter.v1 import meter_pb2


def rec(i: int) -> meter_pb2.UsageRecord:
    return meter_pb2.UsageRecord(request_id=f"r{i}", model="m", status="ok")


def on_disk(directory) -> list[str]:
    """Request ids in the journal's segments, as the disk holds them right now."""
    return sorted(r.request_id for p in directory.glob("usage-*.spool") for r in _read(p.read_bytes()))


def die(journal: UsageJournal) -> None:
    """What SIGKILL does to the journal: its files are closed (their locks released), nothing else."""
    journal._spool.close()


async def test_commit_returns_once_the_record_is_on_disk(tmp_path):
    journal = UsageJournal(tmp_path)
    await journal.commit(rec(1))
    assert on_disk(tmp_path) == ["r1"]


async def test_concurrent_commits_share_one_write(tmp_path, monkeypatch):
    journal = UsageJournal(tmp_path)
    appends = []
    real = journal._spool.append
    monkeypatch.setattr(journal._spool, "append", lambda records: appends.append(len(records)) or real(records))
    await asyncio.gather(*(journal.commit(rec(i)) for i in range(50)))
    assert appends == [50]
    assert on_disk(tmp_path) == sorted(f"r{i}" for i in range(50))


async def test_acknowledged_records_leave_the_disk_and_full_segments_are_deleted(tmp_path):
    journal = UsageJournal(tmp_path, segment_bytes=200)  # a few records per segment
    records = [rec(i) for i in range(30)]
    for r in records:
        await journal.commit(r)
    assert len(list(tmp_path.glob("usage-*.spool"))) >= 3
    await journal.acknowledged(records[:29])
    # Only the segment holding the unacknowledged record is left (a restart re-sends it whole: the meter
    # counts each request id once).
    assert len(list(tmp_path.glob("usage-*.spool"))) == 1 and "r29" in on_disk(tmp_path)
    assert len(on_disk(tmp_path)) <= 4
    await journal.acknowledged(records[29:])
    assert on_disk(tmp_path) == [] and len(list(tmp_path.glob("usage-*.spool"))) <= 1


async def test_a_record_acknowledged_before_its_fsync_is_not_left_on_disk(tmp_path):
    journal = UsageJournal(tmp_path)
    r = rec(1)
    journal.commit_soon(r)
    await journal.acknowledged([r])  # the meter answered before the group commit ran
    await journal.drain()
    assert on_disk(tmp_path) == []


async def test_a_live_routers_segment_is_not_claimed_by_another(tmp_path):
    alive = UsageJournal(tmp_path)
    await alive.commit(rec(1))
    assert await UsageJournal(tmp_path).recover() == []
    assert on_disk(tmp_path) == ["r1"]


async def test_a_restarted_router_recovers_what_a_dead_one_journaled_and_clears_it_once_acknowledged(tmp_path):
    dead = UsageJournal(tmp_path, segment_bytes=100)
    await asyncio.gather(*(dead.commit(rec(i)) for i in range(4)))
    await dead.commit(rec(4))
    die(dead)  # killed before the meter answered
    second = UsageJournal(tmp_path)
    recovered = await second.recover()
    assert sorted(r.request_id for r in recovered) == ["r0", "r1", "r2", "r3", "r4"]
    await second.acknowledged(recovered)
    assert list(tmp_path.glob("usage-*")) == []
