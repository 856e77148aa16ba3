#!/usr/bin/env bash
# Shows the HAProxy bug and what abortguard does about it, on one Debian/Ubuntu machine.
#
# Runs the sample server twice behind HAProxy (Debian 12 ships 2.6, which has the bug):
#   immediate - RST_STREAM(NO_ERROR) right after the trailers, as C-core and grpc-go servers do;
#   deferred  - abortguard's default: no reset while the client may still read the status.
# For each, a grpcio (C-core) client makes CALLS bidi calls that the server rejects with
# PERMISSION_DENIED while the client is still sending, through HAProxy and direct, and the script
# prints how the calls ended, then the guard's Prometheus lines.
#
#   ./demo.sh                 # installs haproxy and python3-grpcio if missing (apt), builds, runs
#   CALLS=500 ./demo.sh       # more calls per run
#   SKIP_BUILD=1 ./demo.sh    # reuse sample-server/target/sample-server.jar
#
# Everything binds to 127.0.0.1 on free ports; everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")"

CALLS="${CALLS:-300}"
CONCURRENCY="${CONCURRENCY:-4}"
PYTHON=/usr/bin/python3 # Debian's python3-grpcio is installed for this interpreter only
JAR=sample-server/target/sample-server.jar
CLIENT=sample-server/src/test/python/abort_client.py
METHOD=/abortguard.demo.v1.DemoService/Bidi
START_TIMEOUT_S=60
STOP_TIMEOUT_S=25

pids=()
fds=()
work="$(mktemp -d -t abortguard-demo.XXXXXX)"

cleanup() {
  local status=$?
  local pid
  # Stop what this script started, and only that, newest first (HAProxy before its server).
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid="${pids[i]}"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      timeout "$STOP_TIMEOUT_S" tail --pid="$pid" -s 0.1 -f /dev/null || kill -9 "$pid" 2>/dev/null || true
    fi
  done
  for fd in "${fds[@]}"; do
    exec {fd}<&- || true
  done
  if ((status != 0)); then
    echo "demo failed (exit $status); logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }

install_missing() {
  local missing=()
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
  [ -x "$PYTHON" ] && "$PYTHON" -c 'import grpc' >/dev/null 2>&1 || missing+=(python3-grpcio)
  if ((${#missing[@]})); then
    step "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  command -v java >/dev/null 2>&1 || { echo "java (JDK 17+) is needed on PATH" >&2; exit 1; }
}

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

haproxy_bin() {
  command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy
}

# start_server NAME [JVM options...]: sets SERVER_PORT and METRICS_PORT.
start_server() {
  local name=$1 fd line
  shift
  exec {fd}< <(exec java "$@" -jar "$JAR" --port 0 --metrics-port 0 2>"$work/server-$name.err")
  pids+=("$!")
  fds+=("$fd")
  # The server prints one line once it listens; wait for it (bounded).
  if ! read -r -t "$START_TIMEOUT_S" -u "$fd" line; then
    echo "sample server ($name) printed no start-up line within ${START_TIMEOUT_S}s:" >&2
    cat "$work/server-$name.err" >&2
    exit 1
  fi
  echo "$line"
  SERVER_PORT="$(sed -E 's/.*listening on 127\.0\.0\.1:([0-9]+) .*/\1/' <<<"$line")"
  METRICS_PORT="$(sed -E 's/.*metrics on http:\/\/127\.0\.0\.1:([0-9]+)\/metrics.*/\1/' <<<"$line")"
}

# start_haproxy NAME BACKEND_PORT: sets PROXY_PORT. The public report's configuration.
start_haproxy() {
  local name=$1 backend=$2 cfg pid
  cfg="$work/haproxy-$name.cfg"
  PROXY_PORT="$(free_port)"
  cat >"$cfg" <<EOF
global
  log stdout format raw local0

defaults
  mode http
  option httplog
  option dontlognull
  log global
  timeout connect 5s
  timeout client 30s
  timeout server 30s

frontend fe
  bind 127.0.0.1:$PROXY_PORT proto h2
  default_backend be

backend be
  server s1 127.0.0.1:$backend proto h2
EOF
  "$(haproxy_bin)" -f "$cfg" -db >"$work/haproxy-$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  # HAProxy announces nothing when ready: try to connect, bounded (about 10 s).
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null; then
      echo "haproxy $("$(haproxy_bin)" -v | head -1 | awk '{print $3}') listening on 127.0.0.1:$PROXY_PORT -> 127.0.0.1:$backend"
      return
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "haproxy did not start:" >&2
  cat "$work/haproxy-$name.log" >&2
  exit 1
}

# run_calls TARGET: prints the client's JSON.
run_calls() {
  "$PYTHON" "$CLIENT" --target "$1" --method "$METHOD" --shape bidi --behaviour keeps-sending \
    --calls "$CALLS" --concurrency "$CONCURRENCY" --abort PERMISSION_DENIED
}

# summary JSON: "300 CANCELLED" or "297 PERMISSION_DENIED, 3 CANCELLED".
summary() {
  "$PYTHON" -c 'import json, sys
r = json.loads(sys.argv[1])
print(", ".join("%d %s" % (n, s) for s, n in r["statuses"].items()))' "$1"
}

messages() {
  "$PYTHON" -c 'import json, sys
r = json.loads(sys.argv[1])
print("; ".join("%d x %s" % (n, m) for m, n in r["messages"].items()))' "$1"
}

# metrics_lines: the guard's lines once no stream lingers (bounded: about 5 s).
metrics_lines() {
  local scrape
  for _ in $(seq 1 100); do
    scrape="$(curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null || "$PYTHON" -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://127.0.0.1:$METRICS_PORT/metrics")"
    grep -qE '^grpc_server_streams_lingering 0(\.0)?$' <<<"$scrape" && break
    sleep 0.05
  done
  grep -E '^grpc_server_(aborts|streams)' <<<"$scrape" | sed 's/^/  /'
}

install_missing
if [ "${SKIP_BUILD:-}" != 1 ]; then
  step "building (./mvnw -B -q -DskipTests package)"
  ./mvnw -B -q -DskipTests package
fi
[ -f "$JAR" ] || { echo "$JAR is missing: build first" >&2; exit 1; }

declare -A via_proxy direct detail metrics
for policy in immediate deferred; do
  step "abortguard.reset=$policy"
  if [ "$policy" = deferred ]; then
    start_server "$policy" # the default
  else
    start_server "$policy" "-Dabortguard.reset=$policy"
  fi
  start_haproxy "$policy" "$SERVER_PORT"
  echo "$CALLS aborted bidi calls, client still sending, through HAProxy..."
  result="$(run_calls "127.0.0.1:$PROXY_PORT")"
  via_proxy[$policy]="$(summary "$result")"
  detail[$policy]="$(messages "$result")"
  echo "  ${detail[$policy]}"
  echo "... and direct"
  result="$(run_calls "127.0.0.1:$SERVER_PORT")"
  direct[$policy]="$(summary "$result")"
  echo "  $(messages "$result")"
  metrics[$policy]="$(metrics_lines)"
done

step "final statuses of $CALLS aborted bidi calls per run (grpcio client, still sending)"
printf '%-10s | %-40s | %s\n' "policy" "through HAProxy $("$(haproxy_bin)" -v | head -1 | awk '{print $3}')" "direct"
printf '%-10s-+-%-40s-+-%s\n' "----------" "----------------------------------------" "------------------"
for policy in immediate deferred; do
  printf '%-10s | %-40s | %s\n' "$policy" "${via_proxy[$policy]}" "${direct[$policy]}"
done
for policy in immediate deferred; do
  step "guard metrics after the $policy run ($CALLS calls through HAProxy + $CALLS direct)"
  echo "${metrics[$policy]}"
done
