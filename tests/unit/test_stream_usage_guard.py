"""The edge records what it relayed of a stream whose router died, and nothing for streams that ended."""
from __future__ import annotations

import grpc
import pytest

from services.edge.dialects.base import Parsed
from services.edge.stream_usage_guard import StreamUsageGuard
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2


class FakeMeter:
    def __init__(self, fail: int = 0) -> None:
        self.records, self.fail = [], fail

    async def RecordUsage(self, req, timeout=None):
        if self.fail:
            self.fail -= 1
            raise gone(grpc.StatusCode.UNAVAILABLE)
        self.records += list(req.records)


class FakeCall:
    def __init__(self, script: list) -> None:
        self.script = script

    async def read(self):
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def cancel(self) -> bool:
        return True

    def done(self) -> bool:
        return not self.script


def gone(code) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "socket closed")


def delta(text: str) -> router_pb2.ChatResponse:
    return router_pb2.ChatResponse(deltas=[router_pb2.ChoiceDelta(content=text)])


def parsed() -> Parsed:
    req = router_pb2.ChatRequest(request_id="srv-1", model="gpt-4o", max_tokens=100)
    return Parsed(req, True, False, 140)  # a 40-token prompt estimate plus the 100-token cap


async def drain(call) -> None:
    while True:
        try:
            msg = await call.read()
        except grpc.aio.AioRpcError:
            return
        if msg is grpc.aio.EOF or msg.HasField("final"):
            return


async def run(script, meter=None) -> FakeMeter:
    meter = meter or FakeMeter()
    slept = []

    async def sleep(s):
        slept.append(s)

    guard = StreamUsageGuard(meter, clock=lambda: 1_700_000_000.0, sleep=sleep)
    await drain(guard.watch(FakeCall(script), parsed(), common_pb2.Caller(key_id="k1", workspace="w")))
    for task in list(guard._tasks):
        await task
    return meter


async def test_a_stream_broken_by_a_dead_router_is_recorded_with_what_was_relayed():
    meter = await run([delta("Hello there, "), delta("world!!"), gone(grpc.StatusCode.UNAVAILABLE)])
    [r] = meter.records
    assert (r.request_id, r.model, r.status, r.caller.key_id) == ("srv-1", "gpt-4o", "interrupted", "k1")
    assert r.usage.estimated and r.usage.prompt_tokens == 40 and r.usage.completion_tokens == 5  # 20 chars
    assert r.started_at_ms == 1_700_000_000_000


async def test_a_stream_that_ended_without_its_final_message_is_recorded():
    meter = await run([delta("abcd"), grpc.aio.EOF])
    assert [r.status for r in meter.records] == ["interrupted"]


async def test_the_record_waits_out_a_meter_that_is_down_too():
    meter = await run([delta("abcd"), gone(grpc.StatusCode.UNAVAILABLE)], FakeMeter(fail=3))
    assert len(meter.records) == 1


@pytest.mark.parametrize("script", [
    [delta("abcd"), router_pb2.ChatResponse(final=router_pb2.ChatFinal())],  # the router records it
    [gone(grpc.StatusCode.UNAVAILABLE)],                                     # nothing was relayed
    [delta("abcd"), gone(grpc.StatusCode.CANCELLED)],                        # the client left
])
async def test_streams_the_router_records_are_left_to_it(script):
    assert (await run(script)).records == []
