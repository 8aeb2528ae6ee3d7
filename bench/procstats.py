"""CPU time and resident memory of the processes under test, read with psutil."""
from __future__ import annotations

import psutil


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


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}
