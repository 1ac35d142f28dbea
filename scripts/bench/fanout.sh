#!/usr/bin/env bash
# Scenario 3 of docs/benchmarks.md (subscriber fan-out), for two builds of
# `bank` side by side: runs alternate between them (old, new, old, new…)
# so that both see the same machine, each on a fresh data directory.
#
#   go build -o /tmp/bankbench ./cmd/bankbench     # this checkout's: it waits for the subscriptions
#   scripts/bench/fanout.sh /tmp/bank-old /tmp/bank-new
#   RUNS=3 SUBSCRIBERS=10000 RATE=100 DURATION=20s scripts/bench/fanout.sh OLD NEW
#
# Each run starts the bank with --load-test on free ports, runs
# `bankbench --accounts 200 --subscribers N --rate R --duration D --out …`
# against it, stops it, and keeps the JSON results in $OUT (a temporary
# directory unless given). At the end it prints each run and, per build,
# the median and range of memory per idle subscriber, end-to-end (delivery)
# p50 and p99, mutation p99 and the bank's RSS and CPU.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD_BANK NEW_BANK" >&2; exit 2; }
OLD=$1
NEW=$2
BENCH=${BANKBENCH:-/tmp/bankbench}
RUNS=${RUNS:-3}
SUBSCRIBERS=${SUBSCRIBERS:-10000}
RATE=${RATE:-100}
DURATION=${DURATION:-20s}
ACCOUNTS=${ACCOUNTS:-200}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "machine: $(nproc) cores, $(lscpu | sed -nE 's/^Model name: *//p'); $(go version 2>/dev/null || true)"
echo "results in $OUT"

# run NAME BIN I: one run of bankbench against a fresh bank.
run() {
  local name=$1 bin=$2 i=$3 line url admin data="$dir/data-$1-$3"
  : >"$dir/out"
  "$bin" --data-dir "$data" --kafka-port 0 --registry-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
    --admin-addr 127.0.0.1:0 --load-test >"$dir/out" 2>"$dir/err-$name-$i" &
  pid=$!
  for _ in $(seq 1 600); do
    line=$(grep -m1 '^Open Bank is running' "$dir/out" || true)
    [ -n "$line" ] && break
    sleep 0.05
  done
  [ -n "$line" ] || { echo "fanout: $bin did not start:" >&2; cat "$dir/err-$name-$i" >&2; exit 1; }
  url=$(sed -nE 's|.*open (http://[^ ]+)/ .*|\1|p' <<<"$line")
  admin=$(sed -nE 's/.* metrics and status at (http[^ ]+)\/, .*/\1/p' <<<"$line")
  echo "== $name run $i ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$BENCH" --url "$url" --admin-url "$admin" --accounts "$ACCOUNTS" --subscribers "$SUBSCRIBERS" \
    --rate "$RATE" --duration "$DURATION" --out "$OUT/$name-$i.json" >"$OUT/$name-$i.txt" 2>"$OUT/$name-$i.log" ||
    { echo "fanout: bankbench failed:" >&2; tail -20 "$OUT/$name-$i.log" >&2; exit 1; }
  grep -E 'end to end|gateway|subscribers|subscriptions' "$OUT/$name-$i.txt"
  grep -E 'the gateway|settled' "$OUT/$name-$i.log" || true
  kill -INT "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
  rm -rf "$data"
}

for i in $(seq 1 "$RUNS"); do
  run old "$OLD" "$i"
  run new "$NEW" "$i"
done

python3 - "$OUT" "$RUNS" <<'EOF'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
rows = [
    ("subscriptions running", lambda r: r["services"]["gateway"].get("subscribers_before_load", -1), "%.0f"),
    ("KiB per idle subscriber (settled)", lambda r: r["services"]["gateway"]["kib_per_idle_subscriber"], "%.1f"),
    ("KiB per subscriber a second after", lambda r: r["services"]["gateway"].get("kib_per_subscriber_at_once", 0), "%.1f"),
    ("end to end (delivery) p50 ms", lambda r: r["end_to_end_latency"]["p50_ms"], "%.1f"),
    ("end to end (delivery) p99 ms", lambda r: r["end_to_end_latency"]["p99_ms"], "%.1f"),
    ("mutation p99 ms", lambda r: r["mutation_latency"]["p99_ms"], "%.1f"),
    ("RSS before subscribers MiB", lambda r: r["services"]["gateway"]["rss_before_subscribers_mib"], "%.0f"),
    ("RSS idle subscribers MiB", lambda r: r["services"]["gateway"]["rss_before_load_mib"], "%.0f"),
    ("RSS after load MiB", lambda r: r["services"]["gateway"]["rss_mib"], "%.0f"),
    ("bank CPU cores", lambda r: r["services"]["gateway"]["cpu_cores"], "%.2f"),
    ("transactions received", lambda r: r["transactions_seen_by_subscribers"], "%d"),
    ("subscriber errors", lambda r: r["subscriber_errors"], "%d"),
]
res = {n: [json.load(open(f"{out}/{n}-{i}.json")) for i in range(1, runs + 1)] for n in ("old", "new")}
print()
print("| | old: median (range) | new: median (range) | runs old | runs new |")
print("|---|---|---|---|---|")
for name, get, fmt in rows:
    cells = []
    for n in ("old", "new"):
        v = [get(r) for r in res[n]]
        cells.append((fmt % statistics.median(v)) + " (" + (fmt % min(v)) + " to " + (fmt % max(v)) + ")")
    runs_ = [", ".join(fmt % get(r) for r in res[n]) for n in ("old", "new")]
    print(f"| {name} | {cells[0]} | {cells[1]} | {runs_[0]} | {runs_[1]} |")
EOF
