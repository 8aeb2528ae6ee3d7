"""The exact-match response cache in the edge's request flow: a stand-in for the router stub, per request.

`ResponseCache.bind()` decides whether a request uses the cache (header, key, model, deterministic
enough) and hands the relay something with the router stub's `Chat`/`Complete`. The first read looks the
answer up: a hit replays the stored router messages (a stream stays a stream, message by message) with no
router call, marks the response `x-tokenyard-cache: hit` and meters it as a cache hit (tokens counted, cost
the configured cache price); a miss calls the router as usual and stores the answer once it ended well.
The relay treats both the same, so every dialect (OpenAI chat and completions, Anthropic) gets the cache.
"""
from __future__ import annotations

import asyncio
import collections
import secrets
import time

import grpc
import structlog

from services.edge.cache_config import CacheConfig
from services.edge.cache_key import deterministic_enough, request_digest
from services.edge.response_cache import AnswerStore
from tokenyard.meter.v1 import meter_pb2
from tokenyard.router.v1 import router_pb2

log = structlog.get_logger()
HEADER, TTL_HEADER = "x-tokenyard-cache", "x-tokenyard-cache-ttl"
_MODES = ("", "on", "off", "refresh")


def _invalid(message: str, param: str) -> tuple[int, dict]:
    return 400, {"message": message, "type": "invalid_request_error", "param": param, "code": "invalid_cache_header"}


class ResponseCache:
    def __init__(self, cfg: CacheConfig, store: AnswerStore, meter, clock=time.time) -> None:
        self.cfg = cfg
        self._store = store
        self._meter = meter
        self._clock = clock
        self._background: set[asyncio.Task] = set()

    def bind(self, http_headers, principal, request: router_pb2.ChatRequest, router, headers: dict):
        """`router` itself when the cache stays out of this request, a cached stand-in for it, or
        (status, error) for a malformed cache header."""
        mode = http_headers.get(HEADER, "").strip().lower()
        if mode not in _MODES:
            return _invalid(f"`{HEADER}` must be on, off or refresh.", HEADER)
        ttl = self.cfg.ttl_seconds
        if TTL_HEADER in http_headers:
            try:
                ttl = float(http_headers[TTL_HEADER])
            except ValueError:
                ttl = -1.0
            if not 0 < ttl <= self.cfg.ttl_seconds:
                return _invalid(f"`{TTL_HEADER}` must be a number of seconds above 0 and at most "
                                f"{self.cfg.ttl_seconds:g}.", TTL_HEADER)
        opted_in = principal.record is not None and str(principal.record.metadata.get("cache", "")).lower() == "on"
        if mode == "off" or not (mode or opted_in or request.model in self.cfg.models):
            return router
        return _Bound(self, router, mode == "refresh", ttl, headers)

    async def lookup(self, workspace: str, digest: str) -> list[router_pb2.ChatResponse] | None:
        try:
            return await self._store.get(workspace, digest)
        except Exception as exc:  # a cache that cannot answer is a miss, never a failed request
            log.warning("response_cache_unavailable", error=type(exc).__name__)
            return None

    def store(self, workspace: str, digest: str, messages: list[router_pb2.ChatResponse], ttl: float) -> None:
        self._spawn(self._put(workspace, digest, messages, ttl))

    async def _put(self, workspace: str, digest: str, messages: list[router_pb2.ChatResponse], ttl: float) -> None:
        try:
            await self._store.put(workspace, digest, messages, ttl)
        except Exception as exc:  # off the response path: the answer was already sent
            log.warning("response_cache_store_failed", error=type(exc).__name__)

    def replayed(self, stored: list[router_pb2.ChatResponse]) -> list[router_pb2.ChatResponse]:
        """The stored messages as a new answer: a fresh id and time, and a final that says where it came from."""
        rid, now = f"chatcmpl-{secrets.token_hex(12)}", int(self._clock())
        out = []
        for m in stored:
            c = router_pb2.ChatResponse()
            c.CopyFrom(m)
            c.id, c.created = rid, now
            if c.HasField("final"):
                f = c.final
                f.deployment, f.cost_micros, f.attempts, f.fallbacks, f.hedges = "cache", self.cfg.hit_cost_micros, 0, 0, 0
                f.ClearField("tried_deployments")
            out.append(c)
        return out

    def meter_hit(self, request: router_pb2.ChatRequest, final: router_pb2.ChatFinal) -> None:
        record = meter_pb2.UsageRecord(
            request_id=request.request_id, client_request_id=request.client_request_id, caller=request.caller,
            model=request.model, deployment="cache", usage=final.usage, status="ok",
            started_at_ms=int(self._clock() * 1000), cost_micros=self.cfg.hit_cost_micros, cost_known=True)
        self._spawn(self._record(record))

    async def _record(self, record: meter_pb2.UsageRecord, attempts: int = 5) -> None:
        """The meter settles the request's reservation with this record; retried, since it is idempotent."""
        for attempt in range(attempts):
            try:
                await self._meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[record]), timeout=5)
                return
            except grpc.aio.AioRpcError as err:
                if err.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    break
                await asyncio.sleep(0.2 * 2 ** attempt)
        log.error("cache_hit_usage_not_recorded", request_id=record.request_id)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


class _Bound:
    """The router stub as one cached request sees it."""

    def __init__(self, cache: ResponseCache, router, refresh: bool, ttl: float, headers: dict) -> None:
        self.cache, self.router, self.refresh, self.ttl, self.headers = cache, router, refresh, ttl, headers

    def Chat(self, request, timeout=None):  # noqa: N802 (the stub's name)
        return _CachedCall(self, request, timeout, unary=False)

    def Complete(self, request, timeout=None):  # noqa: N802
        return _CachedCall(self, request, timeout, unary=True)


class _CachedCall:
    """Looks like the router call the relay expects: `read()` for streams, awaitable for Complete."""

    def __init__(self, bound: _Bound, request, timeout, unary: bool) -> None:
        self._b, self._request, self._timeout, self._unary = bound, request, timeout, unary
        self._replay: collections.deque | None = None
        self._live = None
        self._kept: list[router_pb2.ChatResponse] | None = []
        self._size = 0
        self._workspace, self._digest = "", ""

    async def _open(self) -> None:
        # The request as it goes to the router (after admission chose the model and capped max_tokens).
        self._workspace, self._digest = self._request.caller.workspace, request_digest(self._request)
        if not (self._b.cache.cfg.any_temperature or deterministic_enough(self._request)):
            self._b.headers[HEADER] = "skip"  # asked for, but a sampled answer is not one to repeat
            self._kept = None
            rpc = self._b.router.Complete if self._unary else self._b.router.Chat
            self._live = rpc(self._request, timeout=self._timeout)
            return
        stored = None if self._b.refresh else await self._b.cache.lookup(self._workspace, self._digest)
        if stored:
            msgs = self._b.cache.replayed(stored)
            self._b.headers[HEADER] = "hit"
            self._b.cache.meter_hit(self._request, msgs[-1].final)
            msgs = [_merged(msgs)] if self._unary else _as_stream(msgs)
            self._replay = collections.deque(msgs)
            return
        self._b.headers[HEADER] = "refresh" if self._b.refresh else "miss"
        rpc = self._b.router.Complete if self._unary else self._b.router.Chat
        self._live = rpc(self._request, timeout=self._timeout)

    async def read(self):
        if self._replay is None and self._live is None:
            await self._open()
        if self._replay is not None:
            return self._replay.popleft() if self._replay else grpc.aio.EOF
        msg = await self._live.read()
        self._keep(msg)
        return msg

    def __await__(self):
        return self._whole().__await__()

    async def _whole(self):
        await self._open()
        if self._replay is not None:
            return self._replay.popleft()
        msg = await self._live
        self._keep(msg)
        return msg

    def _keep(self, msg) -> None:
        if self._kept is None or msg is grpc.aio.EOF:
            return
        self._size += msg.ByteSize() + 4
        if self._size > self._b.cache.cfg.max_entry_bytes:
            self._kept = None  # too large to cache: stop holding it
            return
        self._kept.append(msg)
        if msg.HasField("final"):
            if not msg.final.error.code:
                self._b.cache.store(self._workspace, self._digest, self._kept, self._b.ttl)
            self._kept = None

    def done(self) -> bool:
        return self._live.done() if self._live is not None else True

    def cancel(self) -> bool:
        return self._live.cancel() if self._live is not None else False


def _merged(msgs: list[router_pb2.ChatResponse]) -> router_pb2.ChatResponse:
    """One message with every delta and the final: what Complete answers."""
    out = router_pb2.ChatResponse()
    out.CopyFrom(msgs[0])
    out.ClearField("final")
    for m in msgs[1:]:
        out.deltas.extend(m.deltas)
    out.final.CopyFrom(msgs[-1].final)
    return out


def _as_stream(msgs: list[router_pb2.ChatResponse]) -> list[router_pb2.ChatResponse]:
    """A stream carries its final in a message of its own (the relay reads a final message's deltas as
    nothing more); an answer stored from Complete has both in one."""
    out = []
    for m in msgs:
        if m.HasField("final") and m.deltas:
            deltas = router_pb2.ChatResponse()
            deltas.CopyFrom(m)
            deltas.ClearField("final")
            m.ClearField("deltas")
            out.append(deltas)
        out.append(m)
    return out
