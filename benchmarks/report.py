#!/usr/bin/env python3
"""Turns a JMH JSON result of the abortguard benchmarks into a markdown report.

Usage: report.py RESULT.json [--memory MEMORY.json] [--title TEXT] [--note TEXT]

Prints the report to stdout. Ratios carry a rough error (the two scores' relative errors added in
quadrature), and each target gets a verdict: "meets", "below", or "within noise" when the error
straddles the target. Targets are reported, never asserted: the exit status is 0 either way.
Standard library only, so it runs wherever python3 does.
"""

import argparse
import json
import math
import os
import platform
import sys

PKG = "dev.abortguard.benchmarks."
CALLS = PKG + "CallOverheadBenchmark."
ABORT = PKG + "AbortPathBenchmark.abortedCall"
TRACKER = PKG + "LingeringStreamBenchmark."
INTERCEPTOR = PKG + "InterceptorAllocationBenchmark."
OKHTTP = PKG + "OkHttpOverheadBenchmark."
LATE_FRAMES = PKG + "LateFrameFilterBenchmark.inboundRead"

CALL_TARGET = 0.99
ABORT_TARGET = 0.98
MEMORY_TARGET = 128.0


def num(value):
    """JMH writes NaN as the string "NaN"; treat it as an unknown error."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return f


class Result:
    def __init__(self, raw):
        self.benchmark = raw["benchmark"]
        self.mode = raw["mode"]
        self.params = raw.get("params", {})
        pm = raw["primaryMetric"]
        self.score = num(pm["score"])
        self.error = num(pm["scoreError"])
        self.unit = pm["scoreUnit"]
        self.percentiles = {k: num(v) for k, v in pm.get("scorePercentiles", {}).items()}
        norm = raw.get("secondaryMetrics", {}).get("gc.alloc.rate.norm")
        self.bytes_per_op = num(norm["score"]) if norm else float("nan")
        self.raw = raw


def load(path):
    with open(path, encoding="utf-8") as f:
        return [Result(r) for r in json.load(f)]


def find(results, benchmark, **params):
    for r in results:
        if r.benchmark == benchmark and all(r.params.get(k) == v for k, v in params.items()):
            return r
    return None


def ratio(a, b):
    """a/b with a rough error, from each score's own error (NaN errors count as unknown)."""
    if a is None or b is None or b.score == 0:
        return float("nan"), float("nan")
    r = a.score / b.score
    rel = math.sqrt(rel_error(a) ** 2 + rel_error(b) ** 2)
    return r, r * rel


def rel_error(result):
    if math.isnan(result.error) or result.score == 0:
        return float("nan")
    return result.error / result.score


def verdict(value, error, target, higher_is_better=True):
    if math.isnan(value):
        return "n/a"
    if not math.isnan(error) and value - error <= target <= value + error:
        return "within noise"
    ok = value >= target if higher_is_better else value <= target
    return "meets" if ok else "below" if higher_is_better else "above"


def fmt(value, digits=0):
    if value is None or math.isnan(value):
        return "–"
    return f"{value:,.{digits}f}"


def fmt_score(result, digits=0):
    if result is None:
        return "–"
    if math.isnan(result.error):
        return fmt(result.score, digits)
    return f"{fmt(result.score, digits)} ± {fmt(result.error, digits)}"


def fmt_ratio(value, error):
    if math.isnan(value):
        return "–"
    if math.isnan(error):
        return f"{value:.3f}"
    return f"{value:.3f} ± {error:.3f}"


def header(results, title, note):
    first = results[0].raw if results else {}
    cores = os.environ.get("BENCH_CORES") or str(len(os.sched_getaffinity(0)))
    java = os.environ.get("BENCH_JAVA") or f"{first.get('vmName', '?')} {first.get('vmVersion', '?')}"
    date = os.environ.get("BENCH_DATE", "")
    lines = [
        f"# {title}",
        "",
        f"- date: {date}" if date else None,
        f"- machine: {cores} cores (nproc), {platform.system()} {platform.release()} {platform.machine()}",
        f"- JDK: {java}",
        f"- JMH {first.get('jmhVersion', '?')}, JVM args {first.get('jvmArgs') or 'none'}:",
        *settings(results),
        f"- load average at start / end: {os.environ['BENCH_LOAD']}" if os.environ.get("BENCH_LOAD") else None,
        "",
        note,
        "" if note else None,
        "Targets are reported, not asserted. A ratio's ± is the two scores' errors combined; "
        "\"within noise\" means the target lies inside it.",
    ]
    return [line for line in lines if line is not None]


def settings(results):
    """One line per distinct iteration setting, naming the benchmark classes that used it."""
    groups = {}
    for r in results:
        raw = r.raw
        key = (f"forks {raw.get('forks')}, warm-up {raw.get('warmupIterations')} x {raw.get('warmupTime')}, "
               f"measurement {raw.get('measurementIterations')} x {raw.get('measurementTime')}")
        cls = r.benchmark[len(PKG):].split(".")[0] if r.benchmark.startswith(PKG) else r.benchmark
        groups.setdefault(key, [])
        if cls not in groups[key]:
            groups[key].append(cls)
    return [f"  - {', '.join(classes)}: {key}" for key, classes in groups.items()]


def calls_section(results):
    out = ["", "## Normal calls: guarded / stock (target ≥ 0.99)", "",
           "| benchmark | payload | stock | guarded | unit | guarded/stock | verdict | B/op stock | B/op guarded |",
           "|---|---:|---:|---:|---|---:|---|---:|---:|"]
    rows = 0
    for name, label in (("unaryThroughput", "unary round trips"), ("bidiStreaming", "bidi messages echoed")):
        for payload in ("16", "1024"):
            stock = find(results, CALLS + name, server="stock", payloadBytes=payload)
            guarded = find(results, CALLS + name, server="guarded", payloadBytes=payload)
            if stock is None and guarded is None:
                continue
            r, e = ratio(guarded, stock)
            out.append(f"| {label} | {payload} B | {fmt_score(stock)} | {fmt_score(guarded)} | "
                       f"{(stock or guarded).unit} | {fmt_ratio(r, e)} | {verdict(r, e, CALL_TARGET)} | "
                       f"{fmt(stock.bytes_per_op if stock else None)} | "
                       f"{fmt(guarded.bytes_per_op if guarded else None)} |")
            rows += 1
    lat = ["", "Unary latency (SampleTime, µs; a ratio above 1 means the guard is slower):", "",
           "| payload | p50 stock | p50 guarded | p50 guarded/stock | p99 stock | p99 guarded | p99 guarded/stock |",
           "|---:|---:|---:|---:|---:|---:|---:|"]
    lat_rows = 0
    for payload in ("16", "1024"):
        stock = find(results, CALLS + "unaryLatency", server="stock", payloadBytes=payload)
        guarded = find(results, CALLS + "unaryLatency", server="guarded", payloadBytes=payload)
        if stock is None or guarded is None:
            continue
        cells = [f"{payload} B"]
        for p in ("50.0", "99.0"):
            s, g = stock.percentiles.get(p, float("nan")), guarded.percentiles.get(p, float("nan"))
            cells += [fmt(s, 1), fmt(g, 1), f"{g / s:.3f}" if s else "–"]
        lat.append("| " + " | ".join(cells) + " |")
        lat_rows += 1
    out = out if rows else []
    return out + (lat if lat_rows else [])


def okhttp_section(results):
    """grpc-okhttp server, stock vs guarded; each benchmark has its own payload parameter."""
    cases = (("unaryThroughput", "unary round trips", "payloadBytes"),
             ("bidiStreaming", "bidi messages echoed", "messageBytes"))
    out = ["", "## grpc-okhttp server: guarded / stock (normal calls, target ≥ 0.99)", "",
           "| benchmark | payload | stock | guarded | unit | guarded/stock | verdict | B/op stock | B/op guarded "
           "| B/op guarded/stock |",
           "|---|---:|---:|---:|---|---:|---|---:|---:|---:|"]
    rows = 0
    for name, label, param in cases:
        sizes = sorted({r.params[param] for r in results if r.benchmark == OKHTTP + name and param in r.params},
                       key=int)
        for size in sizes:
            stock = find(results, OKHTTP + name, server="stock", **{param: size})
            guarded = find(results, OKHTTP + name, server="guarded", **{param: size})
            r, e = ratio(guarded, stock)
            alloc = (guarded.bytes_per_op / stock.bytes_per_op
                     if stock and guarded and stock.bytes_per_op else float("nan"))
            out.append(f"| {label} | {int(size):,} B | {fmt_score(stock)} | {fmt_score(guarded)} | "
                       f"{(stock or guarded).unit} | {fmt_ratio(r, e)} | {verdict(r, e, CALL_TARGET)} | "
                       f"{fmt(stock.bytes_per_op if stock else None)} | "
                       f"{fmt(guarded.bytes_per_op if guarded else None)} | {fmt_ratio(alloc, float('nan'))} |")
            rows += 1
    return out if rows else []


def late_frames_section(results):
    """The late-frame filter in front of an Http2FrameCodec's decoder, against the codec alone."""
    out = ["", "## Late-frame filter: the codec's inbound path, filtered / stock", "",
           "| DATA frame | stock reads/s | filtered reads/s | filtered/stock | B/op stock | B/op filtered |",
           "|---:|---:|---:|---:|---:|---:|"]
    sizes = sorted({r.params["frameBytes"] for r in results if r.benchmark == LATE_FRAMES}, key=int)
    for size in sizes:
        stock = find(results, LATE_FRAMES, filtered="false", frameBytes=size)
        filtered = find(results, LATE_FRAMES, filtered="true", frameBytes=size)
        r, e = ratio(filtered, stock)
        out.append(f"| {int(size):,} B | {fmt_score(stock)} | {fmt_score(filtered)} | {fmt_ratio(r, e)} | "
                   f"{fmt(stock.bytes_per_op if stock else None)} | {fmt(filtered.bytes_per_op if filtered else None)} |")
    return out if sizes else []


def abort_section(results):
    stock = find(results, ABORT, server="stock")
    if stock is None:
        return []
    out = ["", "## Immediate aborts: each policy / stock (target ≥ 0.98)", "",
           "| server | aborted calls/s | policy/stock | verdict | B/op |",
           "|---|---:|---:|---|---:|",
           f"| stock | {fmt_score(stock)} | 1 | | {fmt(stock.bytes_per_op)} |"]
    for policy in ("deferred", "never", "immediate"):
        guarded = find(results, ABORT, server=policy)
        if guarded is None:
            continue
        r, e = ratio(guarded, stock)
        out.append(f"| {policy} | {fmt_score(guarded)} | {fmt_ratio(r, e)} | {verdict(r, e, ABORT_TARGET)} | "
                   f"{fmt(guarded.bytes_per_op)} |")
    return out


def tracker_section(results):
    events = (("serverEndedThenPeerEnded", "ended + peer END_STREAM"),
              ("serverEndedThenPeerReset", "ended + peer RST_STREAM"),
              ("serverEndedThenExpired", "ended + grace expired"),
              ("peerEndedNotLingering", "peer end, not lingering (every normal call)"))
    sizes = sorted({r.params["lingering"] for r in results if r.benchmark.startswith(TRACKER)}, key=int)
    if not sizes:
        return []
    out = ["", "## Tracker cost per event (ns/event; flat across sizes = O(1))", "",
           "| events | " + " | ".join(f"{int(s):,} lingering" for s in sizes) + " | largest/smallest | B/event |",
           "|---|" + "---:|" * len(sizes) + "---:|---:|"]
    for name, label in events:
        row = [find(results, TRACKER + name, lingering=s) for s in sizes]
        if all(r is None for r in row):
            continue
        first, last = row[0], row[-1]
        growth = last.score / first.score if first and last and first.score else float("nan")
        alloc = max((r.bytes_per_op for r in row if r and not math.isnan(r.bytes_per_op)), default=float("nan"))
        out.append(f"| {label} | " + " | ".join(fmt_score(r, 1) for r in row)
                   + f" | {fmt(growth, 2)} | {fmt(alloc, 0)} |")
    return out


def memory_section(path):
    if not path or not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        rows = json.load(f)
    out = ["", f"## Heap retained per lingering stream (target ≤ {MEMORY_TARGET:.0f} B)", "",
           "| lingering streams | bytes retained | bytes/stream | verdict |",
           "|---:|---:|---:|---|"]
    for row in rows:
        per = float(row["bytesPerStream"])
        out.append(f"| {row['streams']:,} | {row['bytesRetained']:,} | {per:.1f} | "
                   f"{verdict(per, float('nan'), MEMORY_TARGET, higher_is_better=False)} |")
    return out


def interceptor_section(results):
    scenarios = (("okCall", "call completes OK"),
                 ("abortedCall", "abort before headers"),
                 ("abortedAfterEagerHeaders", "abort after eager headers"))
    variants = ("noop", "guarded", "guarded-nometrics")
    if not any(r.benchmark.startswith(INTERCEPTOR) for r in results):
        return []
    out = ["", "## Interceptor alone, per call (B/op from -prof gc's gc.alloc.rate.norm)", "",
           "| call | noop ns | noop B | guarded ns | guarded B | guarded, no metrics ns | guarded, no metrics B |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for name, label in scenarios:
        cells = [label]
        for variant in variants:
            r = find(results, INTERCEPTOR + name, interceptor=variant)
            cells += [fmt(r.score, 1) if r else "–", fmt(r.bytes_per_op, 0) if r else "–"]
        out.append("| " + " | ".join(cells) + " |")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result")
    parser.add_argument("--memory")
    parser.add_argument("--title", default="abortguard benchmarks")
    parser.add_argument("--note", help="a paragraph put under the header")
    args = parser.parse_args()
    results = load(args.result)
    memory = args.memory
    if memory is None and args.result.endswith(".json"):
        memory = args.result[:-len(".json")] + "-memory.json"
    lines = header(results, args.title, args.note)
    for section in (calls_section(results), abort_section(results), okhttp_section(results),
                    late_frames_section(results),
                    tracker_section(results), memory_section(memory), interceptor_section(results)):
        lines += section
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
