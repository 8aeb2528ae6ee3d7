"""`python -m bench [--quick]`: start the upstream and the mesh, run every scenario direct and through
Tokenyard (interleaved, repeated), take medians, write the results table and plot, print their paths."""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import orjson
import uvloop

from bench import cache_hit, replicas, report, wrk
from bench.scenarios import Durations, Scenarios
from bench.setup import Target, mesh_processes, start_mesh, start_upstream, stop_all
from bench.otlp_sink import OTLPSink
from bench.procstats import ProcessGroup

RESULTS = Path(__file__).resolve().parent / "results"
FULL = dict(reps=3, durations=Durations(rate=3.0, throughput=5.0, stream=3.0), hold=1000, floor_calls=3000)
QUICK = dict(reps=1, durations=Durations(rate=1.0, throughput=2.0, stream=1.0), hold=1000, floor_calls=1000)


def _median(samples: dict[str, list[float]]) -> dict[str, float]:
    return {k: statistics.median(v) for k, v in samples.items() if v}


async def measure(direct: Target, through: Target, settings: dict, notes: list[str],
                  traced: Target | None = None, sink: OTLPSink | None = None) -> dict[str, dict[str, float]]:
    """`traced`: a second mesh exporting every span to `sink`; its throughput runs next to `through`'s (e)."""
    scenarios = Scenarios(settings["durations"], use_wrk=wrk.available())
    if not wrk.available():
        notes.append("wrk is not installed (`apt-get install -y wrk`): the closed-loop test used the Python generator.")
    samples: dict[str, dict[str, list[float]]] = {"direct": defaultdict(list), "tokenyard": defaultdict(list),
                                                  "traced": defaultdict(list)}
    # Warm both paths (connections, channels, caches) before anything is recorded.
    for target in (through, traced) if traced is not None else (through,):
        await Scenarios(Durations(0.5, 1.0, 0.5), use_wrk=False).streams(target)
        await Scenarios(Durations(0.5, 1.0, 0.5), use_wrk=False).throughput(target)
    spans_before = sink.spans if sink is not None else 0
    for rep in range(settings["reps"]):
        for name in ("latency", "throughput", "streams"):
            # Alternate who goes first, so drift over the run does not favour one side.
            order = [direct, through] + ([traced] if traced is not None and name == "throughput" else [])
            if rep % 2:
                order.reverse()
            for target in order:
                t0 = time.perf_counter()
                metrics = await getattr(scenarios, "traced" if target is traced else name)(target)
                for key, value in metrics.items():
                    samples[target.name][key].append(value)
                print(f"  rep {rep + 1}/{settings['reps']} {name:<10} {target.name:<9} {time.perf_counter() - t0:5.1f}s",
                      flush=True)
    medians = {name: _median(s) for name, s in samples.items()}
    medians["tokenyard"].update(medians.pop("traced"))
    if sink is not None:
        await asyncio.sleep(6.0)  # the services' batch span processors export every 5 s
        requests = sum(samples["traced"]["e.rps"]) * settings["durations"].throughput
        medians["tokenyard"]["e.spans_per_request"] = (sink.spans - spans_before) / max(1.0, requests)
    print("  cache hits vs direct calls...", flush=True)
    notes.extend(cache_hit.lines(await cache_hit.cache_hit_latency(direct, through)))
    print(f"  holding {settings['hold']} open streams through Tokenyard...", flush=True)
    medians["tokenyard"].update(await Scenarios.open_streams(through, settings["hold"]))
    return medians


def transport_floor(calls: int, notes: list[str]) -> dict[str, float]:
    """A bare grpc.aio hop's cost (bench/floor.py), measured in its own process while the box is quiet."""
    try:
        out = subprocess.run([sys.executable, "-m", "bench.floor", str(calls)], capture_output=True, text=True,
                             timeout=120, check=True)
        return orjson.loads(out.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        notes.append(f"The transport floor was not measured: {type(exc).__name__}.")
        return {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition, short phases (< 1 minute)")
    parser.add_argument("--upstream-workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-tracing", dest="tracing", action="store_false",
                        help="skip scenario e (a second mesh exporting spans to a local OTLP receiver)")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    notes: list[str] = []
    floor = transport_floor(settings["floor_calls"], notes)
    upstream, port = start_upstream(args.upstream_workers)
    sink = OTLPSink() if args.tracing else None
    try:
        with tempfile.TemporaryDirectory(prefix="tokenyard-bench-") as tmp:
            mesh, key = start_mesh(Path(tmp) / "plain", port)
            traced_mesh = None
            try:
                through = Target("tokenyard", mesh.http_port, key, mesh_processes(mesh))
                # Before the traced mesh starts.
                idle, idle_pss, idle_union = through.procs.rss(), through.procs.pss(), through.procs.resident_union()
                traced = None
                if sink is not None:
                    traced_mesh, traced_key = start_mesh(Path(tmp) / "traced", port, {
                        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_EXPORTER_OTLP_INSECURE": "true"})
                    traced = Target("traced", traced_mesh.http_port, traced_key, mesh_processes(traced_mesh))
                direct = Target("direct", port, "", ProcessGroup({f"upstream{i}": p.pid for i, p in enumerate(upstream)}))
                results = uvloop.run(measure(direct, through, settings, notes, traced, sink))
            finally:
                mesh.stop()
                if traced_mesh is not None:
                    traced_mesh.stop()
    finally:
        stop_all(upstream)
        if sink is not None:
            sink.stop()
    results["floor"] = floor
    print("  replicas on a Redis Cluster (3 edges, 2 routers, 2 meters)...", flush=True)
    try:  # after the single mesh stopped, so it does not share the box with it
        notes.extend(replicas.lines(replicas.measure()))
    except (RuntimeError, OSError, KeyError, ValueError) as exc:
        notes.append(f"The multi-replica scenario did not run: {type(exc).__name__}: {exc}")
    results["tokenyard"].update({f"d.rss_idle.{k}": v / 2**20 for k, v in idle.items()})
    results["tokenyard"].update({f"d.pss_idle.{k}": v / 2**20 for k, v in idle_pss.items()})
    if idle_union is not None:
        results["tokenyard"]["d.union_idle"] = idle_union / 2**20
    # Other work on the box skews every figure; the report says how busy it was.
    notes.append(f"1-minute load average: {load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after "
                 f"({os.cpu_count()} CPUs).")
    paths = report.write(args.out, results, settings, args.quick, notes, time.perf_counter() - started,
                         args.upstream_workers)
    print(report.summary(results))
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
