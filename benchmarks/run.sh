#!/usr/bin/env bash
# Runs the abortguard JMH suite and writes, under benchmarks/results/:
#   <mode>-<date>.json         JMH's JSON, every benchmark of the run
#   <mode>-<date>-memory.json  bytes retained per lingering stream (LingeringMemory)
#   <mode>-<date>.md           the report (also printed): guarded/stock ratios and the rest
#
# Usage: benchmarks/run.sh smoke|quick|full [--dry-run] [--build]
#   smoke  everything once, minimal iterations: checks it all runs (< 90 s); numbers mean nothing
#   quick  a first look (< 6 min on 2 cores)
#   full   the figures to quote (< 35 min on 2 cores); run it on a quiet machine
#   --dry-run  print the commands instead of running them
#   --build    rebuild the jar even if it exists (otherwise built only when missing)
#
# Regenerate a report from an existing result: python3 benchmarks/report.py benchmarks/results/X.json
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

mode=""
dry_run=false
build=false
for arg in "$@"; do
  case "$arg" in
    smoke|quick|full) mode="$arg" ;;
    --dry-run) dry_run=true ;;
    --build) build=true ;;
    -h|--help) usage ;;
    *) echo "unknown argument: $arg" >&2; usage ;;
  esac
done
[[ -n "$mode" ]] || usage

cd "$(dirname "$0")/.."   # the repository root: ./mvnw and the paths below are relative to it
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
jar=benchmarks/target/benchmarks.jar
results=benchmarks/results
stamp="$(date +%Y-%m-%d-%H%M%S)"
base="$results/$mode-$stamp"

# Two JMH runs with their own iteration settings, as network calls (grpc-netty and grpc-okhttp
# servers) need longer iterations than the nanosecond-scale tracker and interceptor benchmarks;
# then the memory measurement. -prof gc everywhere:
# it only reads counters between iterations, and the report uses its gc.alloc.rate.norm (B/op).
case "$mode" in
  smoke)
    calls=(-f 1 -wi 0 -i 1 -r 500ms)
    micro=(-f 1 -wi 0 -i 1 -r 500ms)
    ;;
  quick)
    calls=(-f 1 -wi 2 -w 2s -i 3 -r 2s)
    micro=(-f 1 -wi 1 -w 1s -i 2 -r 1s)
    ;;
  full)
    # Two forks for the network groups: run-to-run JVM differences are as big as the effect.
    calls=(-f 2 -wi 3 -w 3s -i 5 -r 5s)
    micro=(-f 1 -wi 2 -w 2s -i 5 -r 2s)
    ;;
esac

run() {
  if $dry_run; then
    printf '%q ' "$@"; echo
  else
    "$@"
  fi
}

if $build || [[ ! -f "$jar" ]]; then
  run ./mvnw -B -q -pl server-lib,benchmarks -am package -DskipTests
fi
$dry_run || mkdir -p "$results"

export BENCH_CORES BENCH_JAVA BENCH_DATE BENCH_LOAD
BENCH_CORES="$(nproc)"
BENCH_JAVA="$("$java" -version 2>&1 | head -n 2 | tail -n 1)"
BENCH_DATE="$(date -u +'%Y-%m-%d %H:%M UTC')"
load_start="$(cut -d ' ' -f 1-3 /proc/loadavg)"

# A fixed heap in every fork, so that heap resizing does not differ between stock and guarded runs.
heap=(-jvmArgsAppend "-Xms1g -Xmx1g")
run "$java" -jar "$jar" '(CallOverhead|AbortPath|OkHttpOverhead)Benchmark' "${calls[@]}" "${heap[@]}" \
  -prof gc -rf json -rff "$base-calls.json"
run "$java" -jar "$jar" '(LingeringStream|InterceptorAllocation|LateFrameFilter)Benchmark' "${micro[@]}" "${heap[@]}" \
  -prof gc -rf json -rff "$base-micro.json"
# Its own JVM with the parallel collector: System.gc() compacts everything and used heap is then
# exact to the byte. G1 would add region rounding once the map's table is humongous.
run "$java" -XX:+UseParallelGC -Xms512m -Xmx512m -cp "$jar" dev.abortguard.benchmarks.LingeringMemory \
  --json "$base-memory.json"

BENCH_LOAD="$load_start / $(cut -d ' ' -f 1-3 /proc/loadavg)"
merge='import json, sys; out = []
for path in sys.argv[2:]:
    out += json.load(open(path))
json.dump(out, open(sys.argv[1], "w"), indent=2)'
run python3 -c "$merge" "$base.json" "$base-calls.json" "$base-micro.json"
run rm -f "$base-calls.json" "$base-micro.json"
note=""
if [[ "$mode" == smoke ]]; then
  note="**Smoke run**: one short iteration each, to check that everything runs. The numbers mean nothing."
fi
if $dry_run; then
  echo "python3 benchmarks/report.py $base.json --title 'abortguard benchmarks ($mode)' --note '$note' | tee $base.md"
else
  python3 benchmarks/report.py "$base.json" --title "abortguard benchmarks ($mode)" --note "$note" | tee "$base.md"
  echo
  echo "wrote $base.json, $base-memory.json and $base.md"
fi
