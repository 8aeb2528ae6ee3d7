"""The transport's own floor on this box: a bare grpc.aio hop with no Tokenyard code in it.

Every request through the mesh crosses at least one such hop (edge -> router), so its cost bounds what any
optimisation of Tokenyard's own code can reach: the report prints it next to the targets. Runs in its own
process (`python -m bench.floor` prints JSON), so it never shares a loop or the GIL with the load generator.
"""
from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import time

import grpc
import orjson
import uvloop

from services.common.grpc_server import CHANNEL_OPTIONS
from tokenyard.router.v1 import router_pb2

_SERVICE = "bench.Floor"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _unary(request, context):
    return router_pb2.ChatResponse(id="x", deltas=[router_pb2.ChoiceDelta(content="tok")])


async def _stream(request, context):
    yield router_pb2.ChatResponse(id="x", deltas=[router_pb2.ChoiceDelta(content="tok")])
    yield router_pb2.ChatResponse(final=router_pb2.ChatFinal(deployment="d"))


async def measure(calls: int = 3000, idle_gap: float = 0.05, sequential: int = 100) -> dict[str, float]:
    handler = grpc.method_handlers_generic_handler(_SERVICE, {
        "Unary": grpc.unary_unary_rpc_method_handler(_unary, router_pb2.ChatRequest.FromString,
                                                     router_pb2.ChatResponse.SerializeToString),
        "Stream": grpc.unary_stream_rpc_method_handler(_stream, router_pb2.ChatRequest.FromString,
                                                       router_pb2.ChatResponse.SerializeToString)})
    server = grpc.aio.server(options=CHANNEL_OPTIONS)
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS)
    unary = channel.unary_unary(f"/{_SERVICE}/Unary", router_pb2.ChatRequest.SerializeToString,
                                router_pb2.ChatResponse.FromString)
    stream = channel.unary_stream(f"/{_SERVICE}/Stream", router_pb2.ChatRequest.SerializeToString,
                                  router_pb2.ChatResponse.FromString)
    req = router_pb2.ChatRequest(model="m", messages=[router_pb2.Message(role="user", content="hi")])

    async def one_unary() -> None:
        await unary(req)

    async def one_stream() -> None:
        async for _ in stream(req):
            pass

    async def cpu_per_call(one, n: int) -> float:
        async def worker(k: int) -> None:
            for _ in range(k):
                await one()
        per = max(1, n // 64)
        await asyncio.gather(*(worker(max(1, per // 10)) for _ in range(64)))  # warm
        before = _cpu()
        await asyncio.gather(*(worker(per) for _ in range(64)))
        return (_cpu() - before) * 1000 / (per * 64)

    async def round_trip(gap: float) -> float:
        times = []
        for _ in range(sequential):
            t0 = time.perf_counter()
            await one_unary()
            times.append(time.perf_counter() - t0)
            await asyncio.sleep(gap)
        return statistics.median(times) * 1000

    try:
        return {"f.unary_cpu": await cpu_per_call(one_unary, calls),
                "f.stream_cpu": await cpu_per_call(one_stream, calls),
                "f.rtt_busy": await round_trip(0.0),
                "f.rtt_idle": await round_trip(idle_gap)}
    finally:
        await channel.close()
        await server.stop(0)


def main() -> int:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    sys.stdout.write(orjson.dumps(uvloop.run(measure(calls))).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
