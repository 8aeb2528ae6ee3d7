"""Circuit breakers and health counters per deployment, shared by every router replica through Redis.

Why shared: a deployment that fails is failing for everyone. When replica A has seen five 503s in a row,
replica B must not spend its own five requests (and its clients' latency) re-discovering it; probes
after the cooldown must be bounded across the fleet, not per replica. So state changes run as Lua
scripts (`breaker_lua`), atomically, and every replica reads the same hash.

Hot path cost: usually no Redis round trip. ACQUIRE (one EVALSHA) returns every candidate's state,
and each written outcome returns its deployment's state; a first choice that Redis reported `closed`
less than `view_ttl` (0.25 s) ago, with no failure seen here since, is admitted from that view. The
staleness bound: a breaker another replica opened stops this one within `view_ttl` plus one write
round trip (it would otherwise learn it on its next attempt anyway). Anything not closed (open,
half-open probes, whose count must be bounded fleet-wide) always goes through Redis. Outcomes are
applied locally at once and written to Redis by one background task that pipelines everything
queued meanwhile, so recording never delays a response. A failure is written at once; successes wait up to
`linger` (20 ms) for company, and each deployment's run of them is folded into one script call.

Fail-open: when Redis is unreachable, calls skip it for `retry_after` seconds, decisions come from
`LocalBreakers` (kept warm with every outcome), and `degraded` says so (GetHealth reports it).
"""
from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

import structlog
from redis import exceptions as redis_errors

from services.common.cancellation import raise_if_cancelled
from services.common.script_pipeline import ScriptPipeline
from services.router.breaker_local import LocalBreakers
from services.router.breaker_lua import ACQUIRE, RECORD
from services.router.policy import BreakerPolicy

log = structlog.get_logger()
KEY_PREFIX = "ty:{brk}:"
_REDIS_ERRORS = (redis_errors.RedisError, OSError, TimeoutError, asyncio.TimeoutError)
_TTL_MS = 86_400_000  # breaker hashes of deployments that are gone expire after a day


def key(name: str) -> str:
    return KEY_PREFIX + name


class BreakerStore:
    def __init__(self, redis, policy: BreakerPolicy, clock: Callable[[], float] = time.time,
                 retry_after: float = 1.0, op_timeout: float = 0.25, view_ttl: float = 0.25,
                 linger: float = 0.02, shift_ms: Callable[[], float] = lambda: 0) -> None:
        """`clock` drives local state and the view; the shared state in Redis runs on Redis's clock, which
        `shift_ms` moves (tests only; 0 in service)."""
        self._redis = redis
        self._shift_ms = shift_ms
        self._policy = policy
        self._clock = clock
        self._retry_after = retry_after
        self._op_timeout = op_timeout
        self.local = LocalBreakers(policy)
        self._acquire = redis.register_script(ACQUIRE) if redis is not None else None
        self._record = redis.register_script(RECORD) if redis is not None else None
        self._down_until = 0.0
        self._down = redis is None
        self._pending: collections.deque[tuple] = collections.deque()
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._writing = False
        """True while a batch taken off `_pending` is on its way to Redis (flush waits for it too)."""
        self._linger = linger
        """How long queued successes wait for more before they are written (a failure is written at once):
        under load one folded script call then carries a whole batch instead of nearly one per request."""
        self._task: asyncio.Task | None = None
        self.seen: dict[str, tuple[str, float]] = {}
        """Last shared (state, reopen ms) per deployment, from any script reply: the balancer's hint."""
        self._view_ttl_ms = view_ttl * 1000
        self._closed_at: dict[str, float] = {}
        """When (ms) Redis last reported a deployment closed; dropped on any failure seen here."""
        self._failed_at: dict[str, float] = {}
        """Last failure (ms) seen here per deployment: an older `closed` reply must not revive the view."""

    @property
    def degraded(self) -> bool:
        """True while the shared store is unreachable (or not configured) and local state decides."""
        return self._down

    def _now_ms(self) -> float:
        return self._clock() * 1000

    def _redis_usable(self) -> bool:
        return self._redis is not None and (not self._down or self._clock() >= self._down_until)

    def _mark(self, ok: bool, exc: BaseException | None = None) -> None:
        if ok:
            if self._down and self._redis is not None:
                log.info("breaker_store_recovered")
            self._down = self._redis is None
            return
        if not self._down:
            log.warning("breaker_store_unreachable_using_local_state", error=type(exc).__name__)
        self._down, self._down_until = True, self._clock() + self._retry_after

    async def acquire(self, names: list[str]) -> tuple[str | None, float | None]:
        """The first of `names` (preference order) whose breaker admits a call, or (None, earliest
        reopen as Unix seconds, None when unknown)."""
        now = self._now_ms()
        stale = self._policy.cooldown * 2000
        if self._redis_usable():
            if now - self._closed_at.get(names[0], -1e18) < self._view_ttl_ms:
                return names[0], None
            try:
                async with asyncio.timeout(self._op_timeout):
                    reply = await self._acquire(keys=[key(n) for n in names],
                                                args=[int(self._shift_ms()), self._policy.probes, int(stale)])
                self._mark(True)
            except _REDIS_ERRORS as exc:
                self._mark(False, exc)
            else:
                chosen, reopen = int(reply[0]), float(reply[1])
                if reopen >= 0:  # Redis's clock -> this replica's, for the caller's wait
                    reopen += now - float(reply[-1])
                for i, name in enumerate(names):
                    st = reply[2 + 2 * i]
                    self._saw(name, st.decode() if isinstance(st, bytes) else st, float(reply[3 + 2 * i]), now)
                return (names[chosen - 1] if chosen else None), (reopen / 1000 if reopen >= 0 else None)
        chosen, reopen = self.local.acquire(names, now, stale)
        return chosen, (reopen / 1000 if reopen is not None else None)

    def record(self, name: str, ok: bool, kind: str = "", latency: float | None = None,
               ttft: float | None = None, force_open: bool = False) -> None:
        """Applies an outcome locally now and queues it for Redis. `latency`/`ttft` in seconds."""
        now = self._now_ms()
        lat_ms = latency * 1000 if latency is not None else -1
        ttft_ms = ttft * 1000 if ttft is not None else -1
        cell = self.local.record(name, ok, kind or "error", lat_ms, ttft_ms, now, force_open)
        if not ok:
            self._failed_at[name] = now
            self._closed_at.pop(name, None)  # the next attempt asks Redis
        if self._redis is None:
            self.seen[name] = (cell.st, cell.until)
            return
        self._pending.append((name, now, ok, kind or "error", lat_ms, ttft_ms, force_open))
        if not ok:
            self._urgent.set()
        self._wake.set()

    def start(self) -> None:
        if self._redis is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._writer(), name="breaker-writer")

    async def flush(self) -> None:
        """Writes queued outcomes now (no linger) and waits until they are written (tests and shutdown)."""
        self._urgent.set()
        while (self._pending or self._writing) and self._task is not None and not self._task.done():
            await asyncio.sleep(0.005)

    async def aclose(self) -> None:
        await asyncio.wait_for(self.flush(), 2.0) if self._pending or self._writing else None
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _writer(self) -> None:
        while True:
            raise_if_cancelled()  # aclose() may have cancelled us just as a Redis timeout in _write fired
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            if self._linger > 0 and not self._urgent.is_set():
                # A timer that sets the event, not asyncio.timeout: nothing here can swallow a cancel.
                timer = asyncio.get_running_loop().call_later(self._linger, self._urgent.set)
                try:
                    await self._urgent.wait()
                finally:
                    timer.cancel()
            self._urgent.clear()
            self._writing = True
            try:
                await self._write(_fold_successes([self._pending.popleft()
                                                   for _ in range(min(len(self._pending), 256))]))
            finally:
                self._writing = False

    async def _write(self, batch: list[tuple]) -> None:
        if not self._redis_usable():
            return  # local state already has these outcomes; a stale replay would mislead others
        p = self._policy
        pipe = ScriptPipeline(self._redis)
        for name, now, ok, kind, lat, ttft, force, count in batch:
            pipe.script(self._record, [key(name)], [
                int(self._shift_ms()), 1 if ok else 0, kind, lat, ttft, p.consecutive, p.ratio, p.min_calls,
                int(p.window * 1000), int(p.cooldown * 1000), int(p.max_cooldown * 1000), 1 if force else 0,
                _TTL_MS, count])
        try:
            async with asyncio.timeout(max(self._op_timeout, 1.0)):
                replies = await pipe.execute()
            self._mark(True)
        except _REDIS_ERRORS as exc:
            self._mark(False, exc)
            return
        for (name, at, ok, *_), reply in zip(batch, replies):
            st = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
            self._saw(name, st, float(reply[2]), at if ok else None)

    def _saw(self, name: str, st: str, until: float, at: float | None) -> None:
        """Redis reported `st` for `name`; `at` (ms) dates a closed state for the view (None: do not use it)."""
        self.seen[name] = (st, until)
        if st == "closed" and at is not None and at > self._failed_at.get(name, -1.0):
            self._closed_at[name] = at
        else:
            self._closed_at.pop(name, None)

    async def snapshot(self, names: list[str]) -> dict[str, dict]:
        """Breaker and health fields per deployment, from Redis when reachable, else from local state."""
        now = self._now_ms()
        window_ms = self._policy.window * 1000
        if self._redis_usable():
            try:
                pipe = self._redis.pipeline(transaction=False)
                for n in names:
                    pipe.hgetall(key(n))
                async with asyncio.timeout(max(self._op_timeout, 1.0)):
                    hashes = await pipe.execute()
                self._mark(True)
                return {n: _from_hash(h, now, window_ms) for n, h in zip(names, hashes)}
            except _REDIS_ERRORS as exc:
                self._mark(False, exc)
        return {n: self.local.cell(n).as_fields(now, window_ms) for n in names}


def _fold_successes(batch: list[tuple]) -> list[tuple]:
    """One script call per run of successes of a deployment instead of one per success: under load almost
    every outcome is a success, and each call is ~20 Redis commands. A failure ends its deployment's run (order
    per deployment is kept; deployments are independent keys). A folded call carries the run's count, its
    latest time and the mean of its latencies and TTFTs (-1: none known)."""
    out: list[list] = []
    runs: dict[str, tuple[list, list[float]]] = {}  # name -> (row, [lat sum, lat n, ttft sum, ttft n])
    for name, now, ok, kind, lat, ttft, force in batch:
        if not ok:
            runs.pop(name, None)
            out.append([name, now, ok, kind, lat, ttft, force, 1])
            continue
        run = runs.get(name)
        if run is None:
            row = [name, now, ok, kind, lat, ttft, force, 1]
            runs[name] = (row, [max(lat, 0), int(lat >= 0), max(ttft, 0), int(ttft >= 0)])
            out.append(row)
            continue
        row, acc = run
        row[1], row[7] = max(row[1], now), row[7] + 1
        if lat >= 0:
            acc[0], acc[1] = acc[0] + lat, acc[1] + 1
            row[4] = acc[0] / acc[1]
        if ttft >= 0:
            acc[2], acc[3] = acc[2] + ttft, acc[3] + 1
            row[5] = acc[2] / acc[3]
    return [tuple(r) for r in out]


def _from_hash(h: dict, now: float, window_ms: float) -> dict:
    f = {k.decode(): v.decode() for k, v in h.items()}
    b = now // max(1, window_ms // 6)
    calls = fails = 0
    for i in range(6):
        if float(f.get(f"b{i}", -1)) > b - 6:
            calls += int(f.get(f"n{i}", 0))
            fails += int(f.get(f"f{i}", 0))
    return {"st": f.get("st", "closed"), "until": float(f.get("until", 0)), "cf": int(f.get("cf", 0)),
            "ok": int(f.get("ok", 0)), "fail": int(f.get("fail", 0)), "lat": float(f.get("lat", -1)),
            "ttft": float(f.get("ttft", -1)), "calls": calls, "fails": fails,
            "errors": {k[2:]: int(v) for k, v in f.items() if k.startswith("e:")}}
