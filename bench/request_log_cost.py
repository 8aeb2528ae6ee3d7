"""Request log write cost per request: rows through the meter's writer into SQLite (the default) or a
PostgreSQL URL, in the meter's own batches, measured as wall and CPU time per row.

    .venv/bin/python -m bench.request_log_cost [--rows 50000] [--batch 500] [--url postgresql://...]

The cost is paid by the meter's background writer, never by the request (RecordUsage only queues).
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from services.meter.requestlog.log import encode_row
from services.meter.requestlog.settings import RequestLogSettings
from services.meter.requestlog.writer import RequestLogWriter
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2


def _record(i: int, t0: int) -> meter_pb2.UsageRecord:
    return meter_pb2.UsageRecord(
        request_id=f"req-{i:09d}", caller=common_pb2.Caller(key_id=f"key_{i % 50:04d}", workspace=f"ws{i % 5}"),
        model="gpt-4o-mini", model_requested="gpt-4o", deployment="openai-east", status="ok", started_at_ms=t0 + i,
        usage=common_pb2.Usage(prompt_tokens=812, completion_tokens=164, total_tokens=976), latency_ms=840,
        ttft_ms=210, trace_id="4bf92f3577b34da6a3ce929d0e0e4736", attempt_log=[
            meter_pb2.RequestAttempt(deployment="openai-west", model="gpt-4o", kind="first", outcome="error",
                                     cause="rate_limited", latency_ms=120),
            meter_pb2.RequestAttempt(deployment="openai-east", model="gpt-4o-mini", kind="fallback", outcome="ok",
                                     latency_ms=700)])


async def measure(rows: int, batch: int, url: str, path: Path) -> dict:
    settings = RequestLogSettings(url=url, path=path, batch_size=batch, linger=0)
    writer = RequestLogWriter(settings.open_store(), settings, encode=encode_row)
    await writer.store.open()
    t0 = int(time.time() * 1000)
    records = [_record(i, t0) for i in range(rows)]
    wall, cpu = time.perf_counter(), time.process_time()
    submit_start = time.perf_counter()
    for start in range(0, rows, batch):
        writer.submit([(r, 1234, True) for r in records[start:start + batch]])
    submit_s = time.perf_counter() - submit_start
    while writer.status()["pending"]:
        if not await writer.flush_once():
            raise RuntimeError(writer.status()["last_error"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await writer.store.aclose()
    return {"rows": rows, "wall_us": wall / rows * 1e6, "cpu_us": cpu / rows * 1e6, "submit_us": submit_s / rows * 1e6}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--url", default="")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = asyncio.run(measure(a.rows, a.batch, a.url, Path(tmp) / "requests.db"))
    backend = "postgresql" if a.url else "sqlite (WAL)"
    print(f"{backend}: {r['rows']} rows in batches of {a.batch}: {r['wall_us']:.1f} us wall, "
          f"{r['cpu_us']:.1f} us CPU of this process per row (row build + write, in the writer task); "
          f"queueing on the RecordUsage path: {r['submit_us']:.2f} us per row")


if __name__ == "__main__":
    main()
