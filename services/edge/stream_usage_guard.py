"""The edge's record of a stream whose router died mid-answer: the usage the client did receive.

A router killed mid-stream takes with it the usage of every stream it was relaying (the record is
journaled only at the stream's end). The edge survives, sees the stream break, and knows what it
relayed; so it records an estimated `interrupted` record (prompt estimate, completion tokens counted
from the text relayed) under the same request id. The meter applies a request id once, so when the
router did record the request after all, whichever record arrived first counts and the other is a
duplicate: never twice, never zero. A client that leaves is not a broken stream (the router records it).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc
import structlog

from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2, meter_pb2_grpc

log = structlog.get_logger()
_ROUTER_GONE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)


class StreamUsageGuard:
    """Wraps router streams (`watch`) and records the usage of any that break after their first message."""

    def __init__(self, meter: meter_pb2_grpc.MeterServiceStub, clock: Callable[[], float] = time.time,
                 retry_for: float = 600.0, sleep=asyncio.sleep) -> None:
        self._meter = meter
        self._clock = clock
        self._retry_for = retry_for
        self._sleep = sleep
        self._tasks: set[asyncio.Task] = set()

    def watch(self, call, parsed, caller):
        # The time the request was filed under (the router files its record under the same one).
        return _Watched(self, call, parsed, caller, parsed.request.started_at_ms or int(self._clock() * 1000))

    def broke(self, watched: "_Watched") -> None:
        req = watched.parsed.request
        prompt, completion = _prompt_tokens(watched.parsed), _tokens(watched.chars)
        record = meter_pb2.UsageRecord(
            request_id=req.request_id, caller=watched.caller, model=req.model, status="interrupted",
            started_at_ms=watched.started_ms,
            usage=common_pb2.Usage(prompt_tokens=prompt, completion_tokens=completion,
                                   total_tokens=prompt + completion, estimated=True))
        log.warning("stream_broken_usage_recorded_by_edge", request_id=req.request_id, model=req.model,
                    completion_tokens=completion)
        task = asyncio.get_running_loop().create_task(self._send(record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, record: meter_pb2.UsageRecord) -> None:
        """Retries while the meter is unreachable (it may have died with the router)."""
        deadline, backoff = time.monotonic() + self._retry_for, 0.2
        while True:
            try:
                await self._meter.RecordUsage(meter_pb2.RecordUsageRequest(records=[record]), timeout=5.0)
                return
            except grpc.aio.AioRpcError as exc:
                if time.monotonic() + backoff > deadline:
                    log.error("edge_usage_record_lost", request_id=record.request_id, error=exc.code().name)
                    return
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()


def _prompt_tokens(parsed) -> int:
    """The edge's prompt estimate: what it charged before the call, less the output cap it added."""
    req = parsed.request
    cap = req.max_completion_tokens if req.HasField("max_completion_tokens") else (
        req.max_tokens if req.HasField("max_tokens") else 0)
    return max(0, parsed.estimated_tokens - cap)


def _tokens(chars: int) -> int:
    """About 4 characters a token, rounded up: an estimate of what was relayed."""
    return (chars + 3) // 4


class _Watched:
    """The router call as relay.py reads it; counts the text relayed and notices a stream that broke."""

    __slots__ = ("_guard", "_call", "parsed", "caller", "started_ms", "chars", "_started", "_ended")

    def __init__(self, guard: StreamUsageGuard, call, parsed, caller, started_ms: int) -> None:
        self._guard, self._call, self.parsed, self.caller = guard, call, parsed, caller
        self.started_ms, self.chars, self._started, self._ended = started_ms, 0, False, False

    async def read(self):
        try:
            msg = await self._call.read()
        except grpc.aio.AioRpcError as err:
            if err.code() in _ROUTER_GONE:
                self._broke()
            raise
        if msg is grpc.aio.EOF:
            self._broke()
        elif msg.HasField("final"):
            self._ended = True
        else:
            self._started = True
            self.chars += sum(len(d.content) + len(d.refusal) for d in msg.deltas)
        return msg

    def _broke(self) -> None:
        if self._started and not self._ended:
            self._ended = True
            self._guard.broke(self)

    def cancel(self) -> bool:
        return self._call.cancel()

    def done(self) -> bool:
        return self._call.done()
