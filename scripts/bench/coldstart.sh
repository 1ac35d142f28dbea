#!/usr/bin/env bash
# Scenario 5 of docs/benchmarks.md: cold start time and idle memory of the
# all-in-one binary.
#
#   scripts/bench/coldstart.sh        # 5 starts
#   RUNS=10 IDLE=30 scripts/bench/coldstart.sh
#
# Each run starts `bank` on an empty data directory, times it from exec to
# the "Open Bank is running" line (and reports bank's own "started in"),
# starts it once more on the data it just wrote (a restart), then leaves it
# idle for IDLE seconds and reads its resident memory from /metrics.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
IDLE=${IDLE:-10}
dir=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
go build -o "$dir/bank" ./cmd/bank

# start DATA: runs bank until it prints its running line; sets pid, admin
# (its metrics address), took (seconds from exec) and own (bank's "started
# in").
start() {
  local t0 line
  : >"$dir/out"
  t0=$(date +%s.%N)
  "$dir/bank" --data-dir "$1" --kafka-port 0 --registry-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 >"$dir/out" 2>"$dir/err" &
  pid=$!
  for _ in $(seq 1 300); do
    line=$(grep -m1 '^Open Bank is running' "$dir/out" || true)
    [ -n "$line" ] && break
    sleep 0.01
  done
  [ -n "$line" ] || { echo "coldstart: bank did not start:" >&2; cat "$dir/err" >&2; exit 1; }
  took=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f", e - s }')
  admin=$(sed -nE 's/.* metrics and status at (http[^ ]+), .*/\1/p' <<<"$line")
  own=$(sed -nE 's/.*started in ([^;]+);.*/\1/p' <<<"$line")
}

stop() { kill -INT "$pid"; wait "$pid" 2>/dev/null || true; }

printf '%-4s %-22s %-22s %s\n' run "cold start (exec→ready)" "restart (exec→ready)" "idle RSS after ${IDLE}s"
for i in $(seq 1 "$RUNS"); do
  data="$dir/data-$i"
  start "$data"; cold="$took s ($own)"; stop
  start "$data"; warm="$took s ($own)"
  sleep "$IDLE"
  rss=$(curl -fsS "${admin%/}/metrics" | awk '/^process_resident_memory_bytes/ { printf "%.0f MiB", $2 / 1048576 }')
  stop
  printf '%-4s %-22s %-22s %s\n' "$i" "$cold" "$warm" "$rss"
done
