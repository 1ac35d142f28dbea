#!/usr/bin/env bash
# Old and new builds of the bank side by side, on this machine, in this
# session (docs/benchmarks.md, "Old and new, side by side").
#
#   scripts/bench/compare.sh OLD NEW            # e.g. 20f1425 HEAD
#   RATES="100 500 1000" RUNS=3 DURATION=20s scripts/bench/compare.sh 20f1425 HEAD
#   SETTLE=0 scripts/bench/compare.sh ...   # no sync and pause between runs
#
# Builds both revisions (a detached git worktree each) and the load
# generator of NEW (bankbench speaks to both: it falls back to the original
# log-in on a bank without sign_up). For each rate and run, OLD and NEW
# take turns, the first of the pair alternating (an even RUNS puts each
# first equally often): a fresh bank on an empty data directory, started
# with its defaults (plus --load-test where the build has it: bankbench is
# one client with the load of many), IDLE seconds idle to measure its idle
# CPU, then bankbench at that rate, then stopped, its data removed and the
# disk synced, SETTLE seconds before the next. Prints a line per run and
# then, per build and rate, the median and range over the runs.
set -euo pipefail
OLD=${1:?usage: compare.sh OLD NEW}
NEW=${2:?usage: compare.sh OLD NEW}
RATES=${RATES:-"100 500"}
RUNS=${RUNS:-3}
DURATION=${DURATION:-20s}
ACCOUNTS=${ACCOUNTS:-200}
SUBSCRIBERS=${SUBSCRIBERS:-100}
IDLE=${IDLE:-10}
SETTLE=${SETTLE:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
# Run as root, a bank's PostgreSQL runs as an unprivileged user, which must
# be able to enter the data directories: without this the SQL reports store
# is off, and a build is not measured with its defaults.
chmod o+x "$work"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  for side in old new; do git -C "$root" worktree remove --force "$work/$side" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

build() { # build SIDE REV
  git -C "$root" worktree add --quiet --detach "$work/$1" "$2"
  (cd "$work/$1" && go build -o "$work/bank-$1" ./cmd/bank)
}
build old "$OLD"
build new "$NEW"
(cd "$root" && go build -o "$work/bankbench" ./cmd/bankbench)

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# cpu_seconds URL: the process's CPU seconds so far, from its /metrics.
cpu_seconds() {
  local body
  body=$(curl -sS -w '\n%{http_code}' "$1") || { echo "compare: $1 unreachable" >&2; exit 1; }
  [ "$(tail -1 <<<"$body")" = 200 ] || { echo "compare: $1 answered: $body" >&2; cat "$work/err" >&2; exit 1; }
  awk '/^process_cpu_seconds_total/ {print $2}' <<<"$body"
}

# run SIDE RATE N: one fresh bank, idle, then the load; appends a result line.
run() {
  local side=$1 rate=$2 n=$3 http admin args metrics data pid c0 c1 idle
  http=$(port); data="$work/data-$side-$rate-$n"
  args=(--data-dir "$data" --kafka-port 0 --registry-addr 127.0.0.1:0 --http-addr "127.0.0.1:$http")
  metrics="http://127.0.0.1:$http/metrics"
  if grep -q -- '-load-test' <<<"$("$work/bank-$side" --help 2>&1 || true)"; then
    admin=$(port)
    args+=(--load-test --admin-addr "127.0.0.1:$admin")
    metrics="http://127.0.0.1:$admin/metrics"
  fi
  "$work/bank-$side" "${args[@]}" >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 1 600); do grep -q '^Open Bank is running' "$work/out" && break; sleep 0.05; done
  grep -q '^Open Bank is running' "$work/out" || { echo "compare: the $side bank did not start" >&2; cat "$work/err" >&2; exit 1; }
  sleep 2 # let start-up work settle before measuring idle
  c0=$(cpu_seconds "$metrics"); sleep "$IDLE"; c1=$(cpu_seconds "$metrics")
  idle=$(awk -v a="$c0" -v b="$c1" -v t="$IDLE" 'BEGIN { printf "%.3f", (b - a) / t }')
  "$work/bankbench" --url "http://127.0.0.1:$http" --accounts "$ACCOUNTS" --subscribers "$SUBSCRIBERS" --rate "$rate" \
    --duration "$DURATION" --metrics "bank=$metrics" --out "$work/r.json" >"$work/bench.out" 2>&1 ||
    { echo "compare: bankbench failed on $side:" >&2; cat "$work/bench.out" >&2; exit 1; }
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # The next run starts on a settled disk: the kernel's writeback of this
  # run's data (the old build writes several times more) is not left to
  # run during the next one.
  rm -rf "$data"
  if [ "$SETTLE" != 0 ]; then sync; sleep "$SETTLE"; fi
  python3 - "$side" "$rate" "$n" "$idle" "$work/r.json" "$DURATION" >>"$work/results" <<'PY'
import json, sys
side, rate, n, idle, path, duration = sys.argv[1:]
r = json.load(open(path))
secs = float(duration.rstrip("s"))
cpu = r["services"]["bank"]["cpu_cores"]
done = max(r["completed"], 1)
# The group furthest behind during the load (sampled each second): a
# reader that cannot keep up shows here even when every latency above
# looks fine. n/a: the bank reports no consumer lag.
lag = r["services"]["bank"].get("consumer_lag_peak") or {}
group = max(lag, key=lag.get) if lag else "none"
print(side, rate, n, r["mutation_latency"]["p50_ms"], r["mutation_latency"]["p99_ms"], r["end_to_end_latency"]["p99_ms"],
      cpu, cpu * secs * 1000 / done, idle, r["completed"], r["failed"] + r["not_sent"], int(lag[group]) if lag else "n/a", group)
PY
  tail -1 "$work/results" | awk '{ printf "%-4s %5s/s run %s: p50 %6.1f ms  p99 %6.1f ms  e2e p99 %6.1f ms  cpu %.2f cores  %.2f ms cpu/transfer  idle %.3f cores  %d done  %d failed  most behind %s (%s)\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }'
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(go version | cut -d' ' -f3)"
echo "old $OLD ($(git -C "$root" rev-parse --short "$OLD")), new $NEW ($(git -C "$root" rev-parse --short "$NEW")); $ACCOUNTS accounts, $SUBSCRIBERS subscribers, $DURATION a run"
: >"$work/results"
pair=0
for rate in $RATES; do
  for n in $(seq 1 "$RUNS"); do
    # Pairs start with OLD and NEW in turn, across rates too, so that
    # neither build always runs in the wake of the other.
    if ((pair++ % 2 == 0)); then run old "$rate" "$n"; run new "$rate" "$n"
    else run new "$rate" "$n"; run old "$rate" "$n"; fi
  done
done
echo
echo "median (min-max) over $RUNS runs"
python3 - "$work/results" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
cols = [("p50 ms", 3), ("p99 ms", 4), ("e2e p99 ms", 5), ("cores", 6), ("cpu ms/transfer", 7), ("idle cores", 8)]
print("| build | rate | " + " | ".join(c for c, _ in cols) + " |")
print("|---|---|" + "---|" * len(cols))
for rate in sorted({int(r[1]) for r in rows}):
    for side in ("old", "new"):
        sel = [r for r in rows if r[0] == side and int(r[1]) == rate]
        cells = []
        for _, i in cols:
            v = sorted(float(r[i]) for r in sel)
            cells.append(f"{statistics.median(v):.3g} ({v[0]:.3g}-{v[-1]:.3g})")
        print(f"| {side} | {rate}/s | " + " | ".join(cells) + " |")
PY
