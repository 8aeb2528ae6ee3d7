"""CPU time and resident memory of the processes under test, read with psutil (and /proc/<pid>/pagemap for
the group's memory with every physical page counted once)."""
from __future__ import annotations

import os
import struct

import psutil

_PAGE = os.sysconf("SC_PAGE_SIZE")
_PRESENT, _PFN = 1 << 63, (1 << 55) - 1


class ProcessGroup:
    """Named processes (edge, router, meter, redis...) whose CPU and RSS the bench samples."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}

    @property
    def names(self) -> list[str]:
        return list(self._procs)

    def cpu(self) -> dict[str, float]:
        """CPU seconds (user + system) each process has used so far."""
        out = {}
        for name, proc in self._procs.items():
            t = proc.cpu_times()
            out[name] = t.user + t.system
        return out

    def rss(self) -> dict[str, int]:
        """Resident memory in bytes."""
        return {name: proc.memory_info().rss for name, proc in self._procs.items()}

    def pss(self) -> dict[str, int]:
        """Proportional set size in bytes: shared pages (the same grpc, Python and OpenSSL libraries
        mapped by every service) counted once across processes instead of once per process."""
        return {name: proc.memory_full_info().pss for name, proc in self._procs.items()}


    def resident_union(self) -> int | None:
        """Bytes of physical memory the whole group holds, each page counted once however many of its
        processes map it (the grpc, OpenSSL and Python libraries every service maps; pages shared with processes
        outside the group are counted whole). Summing RSS counts those pages once per service; PSS gives part of
        them to unrelated processes. None when page frames cannot be read (they need root)."""
        frames: set[int] = set()
        try:
            for proc in self._procs.values():
                frames |= _frames(proc.pid)
        except (OSError, ValueError):
            return None
        return len(frames) * _PAGE if len(frames) > 1 else None  # unprivileged readers see every frame as 0


def _frames(pid: int) -> set[int]:
    out: set[int] = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            if line.rstrip().endswith("[vsyscall]"):
                continue
            start, end = (int(x, 16) for x in line.split(None, 1)[0].split("-"))
            pagemap.seek(start // _PAGE * 8)
            for (entry,) in struct.iter_unpack("<Q", pagemap.read((end - start) // _PAGE * 8)):
                if entry & _PRESENT:
                    out.add(entry & _PFN)
    return out


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}
