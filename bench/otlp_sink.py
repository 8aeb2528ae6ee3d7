"""Scenario e's trace receiver: a real OTLP/gRPC TraceService in its own process that only counts spans.

A separate process, so decoding the exports never takes the GIL from the bench's own load generator;
counting rather than keeping spans, so it stays cheap and flat in memory over a whole run.
"""
from __future__ import annotations

import multiprocessing as mp
import multiprocessing.sharedctypes
import signal
from concurrent import futures


def _serve(ready: "mp.Queue[int]", count: "multiprocessing.sharedctypes.Synchronized") -> None:
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    class Sink(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            n = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
            with count.get_lock():
                count.value += n
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Sink(), server)
    ready.put(server.add_insecure_port("127.0.0.1:0"))
    server.start()
    signal.sigwait({signal.SIGTERM})
    server.stop(0)


class OTLPSink:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._count = ctx.Value("q", 0)
        ready = ctx.Queue()
        self.process = ctx.Process(target=_serve, args=(ready, self._count), daemon=True)
        self.process.start()
        self.endpoint = f"http://127.0.0.1:{ready.get(timeout=30)}"

    @property
    def spans(self) -> int:
        return self._count.value

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)
