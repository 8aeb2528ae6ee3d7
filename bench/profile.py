"""`python -m bench.profile [--stream]`: py-spy the edge, router and meter under concurrency-64 load.

Writes collapsed stacks to bench/results/profile-<service>.txt (git-ignored) and prints, per service, the functions
with the most samples on their own (self) and in their subtree (inclusive), and the idle CPU.
"""
from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import wrk
from bench.setup import Target, mesh_processes, start_mesh, start_upstream, stop_all
from bench.procstats import cpu_delta

RESULTS = Path(__file__).resolve().parent / "results"


def top(collapsed: Path, n: int = 25) -> str:
    self_counts, incl, total = collections.Counter(), collections.Counter(), 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames, c = stack.split(";"), int(count)
        total += c
        self_counts[frames[-1]] += c
        for f in set(frames):
            incl[f] += c
    out = [f"  samples: {total}", "  self:"]
    out += [f"    {c * 100 / total:5.1f}%  {f}" for f, c in self_counts.most_common(n)]
    out += ["  inclusive:"] + [f"    {c * 100 / total:5.1f}%  {f}" for f, c in incl.most_common(n)]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--model", default="bench-1")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--native", action="store_true", help="include C frames (gRPC core, uvloop)")
    args = parser.parse_args()
    upstream, port = start_upstream(2)
    try:
        with tempfile.TemporaryDirectory(prefix="tokenyard-profile-") as tmp:
            mesh, key = start_mesh(Path(tmp), port)
            try:
                group = mesh_processes(mesh)
                before = group.cpu()
                time.sleep(3)
                idle = cpu_delta(before, group.cpu())
                print("idle CPU over 3 s (ms/s):", {k: round(v * 1000 / 3, 1) for k, v in idle.items()})
                t = Target("tokenyard", mesh.http_port, key, group)
                load = threading.Thread(target=wrk.run, args=(t.url, t.body(args.model, args.stream), key, 64,
                                                              args.seconds + 2))
                load.start()
                time.sleep(1)
                spies = {}
                for name in ("edge", "router", "meter"):
                    out = RESULTS / f"profile-{name}.txt"
                    out.unlink(missing_ok=True)
                    spies[name] = (subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking", "--format", "raw",
                         "-r", "200", *(["--native"] if args.native else []), "-d", str(args.seconds), "-o", str(out), "--pid", str(mesh.procs[name].pid)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out)
                for name, (proc, out) in spies.items():
                    proc.wait()
                    print(f"{name}:\n{top(out)}")
                load.join()
            finally:
                mesh.stop()
    finally:
        stop_all(upstream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
