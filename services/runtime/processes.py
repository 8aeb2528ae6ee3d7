"""Operating-system side of supervision: spawning an agent in its own process group, signalling that
group, and recognising a process again after the runtime restarts.

Each agent runs as the leader of a new session (so of its own process group): stop signals the whole
group, so helper processes the agent forked go with it. Agents deliberately do not get
PR_SET_PDEATHSIG: a runtime that crashes or is upgraded leaves them running, and the next runtime
re-adopts them from their run files (see supervisor.py). A pid alone is not an identity (pids are
reused), so a run file also keeps the process's kernel start time, compared on adoption.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from pathlib import Path

# Variables an agent inherits from the runtime; everything else (Redis URL, encryption key, master
# key) stays out of its environment.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "SYSTEMROOT")
MAX_LOG_BYTES = 5 * 1024 * 1024


def start_ticks(pid: int) -> int | None:
    """Kernel start time of `pid` (clock ticks since boot), or None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = stat[stat.rfind(")") + 2:].split()
    if rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


def alive(pid: int, ticks: int | None) -> bool:
    """True when `pid` still runs and is the same process (same start time) as recorded."""
    current = start_ticks(pid)
    return current is not None and (ticks is None or current == ticks)


def signal_group(pgid: int, sig: int) -> bool:
    """Signals a process group; False when it no longer exists."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group whose members are all zombies still "exists" for killpg; look for a live member.
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            rest = stat[stat.rfind(")") + 2:].split()
            if int(rest[2]) == pgid and rest[0] not in ("Z", "X"):
                return True
    return False


def resolve_command(command: str, cwd: str | None) -> str | None:
    if os.sep in command:
        path = Path(cwd or ".") / command if not os.path.isabs(command) else Path(command)
        return str(path) if path.exists() and os.access(path, os.X_OK) else None
    return shutil.which(command)


def agent_env(extra: dict[str, str], pinned: dict[str, str]) -> dict[str, str]:
    """A small environment: a few inherited basics, the agent's own variables, then ours (which win,
    so an agent config cannot point its traffic around the gateway)."""
    env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
    env.update(extra)
    env.update(pinned)
    return env


def _open_log(path: Path):
    if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
        path.replace(path.with_suffix(".log.1"))
    return open(path, "ab", buffering=0)


async def spawn(argv: list[str], cwd: str | None, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Starts `argv` as a new session with stdout+stderr appended to `log_path` (a file, not a pipe,
    so the agent keeps logging while no runtime is reading, and a re-adopted agent's output is still
    there).

    The stdlib's Popen (run in a thread) does fork/setsid/exec in C; spawning through the event loop
    (uvloop) instead crashed children of this multi-threaded gRPC process now and then.
    """
    def start() -> subprocess.Popen:
        with _open_log(log_path) as log:
            return subprocess.Popen(argv, cwd=cwd or None, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    return await asyncio.to_thread(start)


async def wait_exit(pid: int, poll: float = 0.2) -> None:
    """Returns when `pid` has exited (or is a zombie): a pidfd wakes the loop at once where the kernel has
    them (Linux 5.3+); polling is the fallback."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        while start_ticks(pid) is not None:
            await asyncio.sleep(poll)
        return
    loop = asyncio.get_running_loop()
    exited = asyncio.Event()
    loop.add_reader(fd, exited.set)
    try:
        await exited.wait()
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def terminate_group(pgid: int, grace: float, poll: float = 0.05) -> bool:
    """SIGTERM to the group, SIGKILL after `grace` seconds if any member is left; True if it had to kill."""
    if not signal_group(pgid, signal.SIGTERM):
        return False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while loop.time() < deadline:
        if not await asyncio.to_thread(group_exists, pgid):
            return False
        await asyncio.sleep(poll)
    if not signal_group(pgid, signal.SIGKILL):
        return False
    # SIGKILL is delivered asynchronously: return once the group is really gone (bounded), so a caller
    # that reports "stopped" is telling the truth.
    deadline = loop.time() + 5.0
    while loop.time() < deadline and await asyncio.to_thread(group_exists, pgid):
        await asyncio.sleep(poll)
    return True
