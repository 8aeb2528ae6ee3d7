"""Writes bench/results/<date>-<commit>.md (direct vs Tokenyard, added, ratio, target, pass/fail), a PNG plot and
the raw medians as JSON."""
from __future__ import annotations

import datetime
import math
import os
import platform
import subprocess
from pathlib import Path

import matplotlib
import matplotlib.ticker
import orjson

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from bench.scenarios import RATES  # noqa: E402
from services.launcher.mesh import ROOT  # noqa: E402

# (label, metric, unit, target): target is (on, op, limit), `on` = "added" (Tokenyard - direct) or "value".
ROWS = [
    ("a. latency p50 @ 20 req/s", "a.p50@20", "ms", ("added", "<=", 2.5)),
    ("a. latency p99 @ 20 req/s", "a.p99@20", "ms", ("added", "<=", 8.0)),
    ("a. latency p50 @ 200 req/s", "a.p50@200", "ms", None),
    ("a. latency p99 @ 200 req/s", "a.p99@200", "ms", None),
    ("a. latency p50 @ 500 req/s", "a.p50@500", "ms", None),
    ("a. latency p99 @ 500 req/s", "a.p99@500", "ms", None),
    ("b. throughput, concurrency 64", "b.rps", "req/s", ("value", ">=", 1500)),
    ("b. errors, concurrency 64", "b.err", "%", ("value", "<", 1.0)),
    ("b/d. CPU per request at concurrency 64", "b.cpu", "ms", ("value", "<=", 1.2)),
    ("d. CPU per request @ 20 req/s", "a.cpu@20", "ms", None),
    ("c. 20-chunk streams/s, 16 concurrent", "c.s20.rps", "1/s", ("value", ">=", 400)),
    ("c. TTFT p50, paced upstream (5 ms/chunk)", "c.paced.ttft50", "ms", ("added", "<=", 3.0)),
    ("c. TTFT p99, paced upstream", "c.paced.ttft99", "ms", None),
    ("c. time to last token p50, 20 chunks paced", "c.paced.ttlt50", "ms", None),
    ("c. inter-chunk interval p50, paced (upstream: 5 ms)", "c.gap", "ms", None),
    ("c. TTFT p50, 20 chunks unpaced", "c.s20.ttft50", "ms", None),
    ("c. TTFT p99, 20 chunks unpaced", "c.s20.ttft99", "ms", None),
    ("c. time to last token p50, 20 chunks", "c.s20.ttlt50", "ms", None),
    ("c. time to last token p99, 20 chunks", "c.s20.ttlt99", "ms", None),
    ("c. 256-chunk streams/s, 16 concurrent", "c.s256.rps", "1/s", None),
    ("c. time to last token p50, 256 chunks", "c.s256.ttlt50", "ms", None),
    ("c. time to last token p99, 256 chunks", "c.s256.ttlt99", "ms", None),
    ("d. CPU per 20-chunk stream", "c.s20.cpu", "ms", ("value", "<=", 4.0)),
    ("d. CPU per token, 256-chunk streams", "c.cpu_token256", "ms", ("value", "<=", 0.1)),
]
GENERATOR = [("a. open loop 20 req/s", "gen.a@20"), ("a. open loop 500 req/s", "gen.a@500"),
             ("b. concurrency 64", "gen.b"), ("c. 20-chunk streams", "gen.c.s20"), ("c. 256-chunk streams", "gen.c.s256")]
_OPS = {"<=": lambda v, lim: v <= lim, ">=": lambda v, lim: v >= lim, "<": lambda v, lim: v < lim}


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"


def _verdict(value: float | None, op: str, limit: float) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return "**pass**" if _OPS[op](value, limit) else "**FAIL**"


def tracing_status() -> str:
    """Why scenario e has no figure: it was skipped (`--no-tracing`)."""
    return "skipped (--no-tracing)"


def _commit() -> str:
    """The measured commit; BENCH_COMMIT names it when the tree is an exported snapshot without .git."""
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "nocommit"


def table(results: dict[str, dict[str, float]]) -> list[str]:
    d, t = results["direct"], results["tokenyard"]
    lines = ["| scenario | direct | Tokenyard | added | ratio | target | result |", "|---|---:|---:|---:|---:|---|---|"]
    for label, key, unit, target in ROWS:
        dv, tv = d.get(key), t.get(key)
        added = tv - dv if dv is not None and tv is not None else None
        ratio = f"{tv / dv:.2f}x" if dv and tv is not None else "-"
        goal, verdict = "", ""
        if target:
            on, op, limit = target
            goal = f"{'added' if on == 'added' else 'Tokenyard'} {op} {limit:g} {unit}"
            verdict = _verdict(added if on == "added" else tv, op, limit)
        lines.append(f"| {label} ({unit}) | {_fmt(dv)} | {_fmt(tv)} | {_fmt(added)} | {ratio} | {goal} | {verdict} |")
    idle = sum(v for k, v in t.items() if k.startswith("d.rss_idle."))
    union = t.get("d.union_idle")
    kb = t.get("d.kb_per_stream")
    if union is not None:
        # "All services together": the memory the group holds, a library page mapped by four services once.
        lines.append(f"| d. memory, all services idle, each physical page counted once (MB) | - | {_fmt(union)} | - "
                     f"| - | Tokenyard <= 200 MB | {_verdict(union, '<=', 200)} |")
        lines.append(f"| d. memory, all services idle, sum of each service's RSS (MB) | - | {_fmt(idle)} | - | - |  |  |")
    else:
        lines.append(f"| d. memory, all services idle, sum of each service's RSS (MB) | - | {_fmt(idle)} | - | - | "
                     f"Tokenyard <= 200 MB | {_verdict(idle, '<=', 200)} |")
    pss = sum(v for k, v in t.items() if k.startswith("d.pss_idle."))
    if pss:
        lines.append(f"| d. memory, all services idle, sum of PSS (MB) | - | {_fmt(pss)} | - | - |  |  |")
    lines.append(f"| d. memory per open stream, {int(t.get('d.opened', 0))} open (kB) | - | {_fmt(kb)} | - | - | "
                 f"Tokenyard <= 30 kB | {_verdict(kb, '<=', 30)} |")
    lines += _tracing_rows(t)
    return lines


def _tracing_rows(t: dict[str, float]) -> list[str]:
    """e: the traced mesh's throughput next to the plain one's; the cost is the throughput it loses."""
    traced, plain = t.get("e.rps"), t.get("b.rps")
    if traced is None or not plain:
        return [f"| e. throughput with tracing on | - | - | - | - | cost <= 15% | n/a: {tracing_status()} |"]
    cost = (1 - traced / plain) * 100
    return [f"| e. throughput, concurrency 64, tracing on (req/s) | - | {_fmt(traced)} | - | - |  |  |",
            f"| e. CPU per request, tracing on (ms) | - | {_fmt(t.get('e.cpu'))} | - | - |  |  |",
            f"| e. spans received per request | - | {_fmt(t.get('e.spans_per_request'))} | - | - |  |  |",
            f"| e. tracing cost (% of throughput) | - | {_fmt(cost)} | - | - | cost <= 15% | {_verdict(cost, '<=', 15)} |"]


def memory_table(t: dict[str, float]) -> list[str]:
    names = sorted({k.split(".", 2)[2] for k in t if k.startswith("d.rss_idle.")})
    opened = int(t.get("d.opened", 0))
    lines = [f"| service | idle (MB) | idle PSS (MB) | after the load (MB) | holding {opened} streams (MB) | "
             "kB per stream |", "|---|---:|---:|---:|---:|---:|"]
    for n in names:
        warm, during = t.get(f"d.rss_warm.{n}", 0.0), t.get(f"d.rss_open.{n}", 0.0)
        lines.append(f"| {n} | {_fmt(t.get(f'd.rss_idle.{n}'))} | {_fmt(t.get(f'd.pss_idle.{n}'))} | {_fmt(warm)} | "
                     f"{_fmt(during)} | {_fmt((during - warm) * 1024 / max(1, opened))} |")
    return lines


def floor_table(f: dict[str, float]) -> list[str]:
    """The bare transport's cost next to the targets it eats into (bench/floor.py)."""
    if not f:
        return ["Not measured in this run."]
    return ["| bare grpc.aio hop, no Tokenyard code | value | share of the target it sits under |",
            "|---|---:|---|",
            f"| CPU per unary call, client + server, 64 concurrent (ms) | {_fmt(f.get('f.unary_cpu'))} | "
            f"{f.get('f.unary_cpu', 0) / 1.2 * 100:.0f}% of the 1.2 ms CPU per request for the whole mesh |",
            f"| CPU per server-streaming call, 2 messages (ms) | {_fmt(f.get('f.stream_cpu'))} | |",
            f"| round trip, calls back to back (ms) | {_fmt(f.get('f.rtt_busy'))} | |",
            f"| round trip after 50 ms idle, as at 20 req/s (ms) | {_fmt(f.get('f.rtt_idle'))} | "
            f"{f.get('f.rtt_idle', 0) / 2.5 * 100:.0f}% of the 2.5 ms added p50 at 20 req/s |"]


def plot(results: dict[str, dict[str, float]], path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, style in (("direct", "o--"), ("tokenyard", "s-")):
        r = results[name]
        for q in (50, 99):
            left.plot(RATES, [r.get(f"a.p{q}@{rate}", math.nan) for rate in RATES], style,
                      label=f"{'Tokenyard' if name == 'tokenyard' else 'direct'} p{q}", alpha=1 if q == 50 else 0.6)
    left.set(xscale="log", yscale="log", xlabel="offered load (requests/s, open loop)", ylabel="latency (ms)",
             title="Non-streaming latency vs offered load")
    left.set_xticks(list(RATES), [str(r) for r in RATES])
    left.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    left.legend(fontsize=8)
    groups = [("paced p50", "c.paced.ttft50"), ("paced p99", "c.paced.ttft99"),
              ("unpaced p50", "c.s20.ttft50"), ("unpaced p99", "c.s20.ttft99")]
    x = range(len(groups))
    for offset, name in ((-0.2, "direct"), (0.2, "tokenyard")):
        right.bar([i + offset for i in x], [results[name].get(k, math.nan) for _, k in groups], 0.4,
                  label="Tokenyard" if name == "tokenyard" else "direct")
    right.set(xticks=list(x), xticklabels=[g for g, _ in groups], ylabel="time to first token (ms, log)", yscale="log",
              title="Streaming TTFT, 16 concurrent 20-chunk streams")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(out: Path, results, settings: dict, quick: bool, notes: list[str], seconds: float, workers: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{datetime.date.today().isoformat()}-{_commit()}{'-quick' if quick else ''}"
    md, png = out / f"{stem}.md", out / f"{stem}.png"
    plot(results, png)
    # The raw medians, so a later change to the table or plot can be re-rendered without re-running.
    (out / f"{stem}.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    d, t = results["direct"], results["tokenyard"]
    gen = ["| load | direct | Tokenyard |", "|---|---:|---:|"]
    gen += [f"| {label} | {_fmt(d.get(k))} | {_fmt(t.get(k))} |" for label, k in GENERATOR]
    dur = settings["durations"]
    lines = [
        f"# Tokenyard bench {stem}", "",
        f"`make bench{'-quick' if quick else ''}` on {platform.node()} ({platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}), {seconds:.0f} s. Medians of {settings['reps']} interleaved "
        f"repetition(s); phases of {dur.rate:g} s (open loop), {dur.throughput:g} s (concurrency 64), "
        f"{dur.stream:g} s (streams). Everything on one box: generator, {workers} upstream process(es), "
        "edge, router, meter, Redis. Tokenyard runs with master-key auth, metering through the meter and "
        "its router as configured at this commit. Direct CPU = the upstream's; Tokenyard CPU = edge + router + "
        "meter + Redis (+ runtime when the mesh runs it). The direct throughput row is the bench upstream's own "
        "capacity, measured with the same generator.", "",
        *table(results), "",
        "## Memory per service", "", *memory_table(t), "",
        "## The transport's floor on this box", "",
        "Every request crosses at least one gRPC hop (edge -> router); here is what one bare grpc.aio hop costs "
        "on this box, measured in its own process before the meshes start (`python -m bench.floor`).", "",
        *floor_table(results.get("floor", {})), "",
        "## Load generator CPU (ms per request)", "",
        "wrk for concurrency 64, the bench's own asyncio/uvloop HTTP client otherwise.", "", *gen, "",
        f"![latency and TTFT]({png.name})", "",
    ]
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    md.write_text("\n".join(lines))
    return [md, png, out / f"{stem}.json"]


def summary(results) -> str:
    return "\n".join(table(results))
