#!/usr/bin/env bash
# Scenario 4 of docs/benchmarks.md: how fast the command handler and the
# projector rebuild their state from a long event log.
#
#   scripts/bench/replay.sh            # 1,000,000 events
#   EVENTS=200000 scripts/bench/replay.sh
#
# Starts an embedded broker in a temporary directory, writes EVENTS events
# with `bankbench fill`, then starts `bank commands` and `bank projector`
# one after the other and prints how long each took to rebuild (from their
# own log lines). Everything runs on this machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENTS=${EVENTS:-1000000}
ACCOUNTS=${ACCOUNTS:-1000}
dir=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

go build -o "$dir/bank" ./cmd/bank
go build -o "$dir/bankbench" ./cmd/bankbench

# waitfor FILE REGEX SECONDS: until a line of FILE matches.
waitfor() {
  for _ in $(seq 1 $(($3 * 10))); do
    if grep -qE "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "replay: no '$2' in $1 after $3 s:" >&2; tail -20 "$1" >&2; exit 1
}

# The broker accepts these credentials, and every process below uses them.
KAFKA_SASL_USER=bench KAFKA_SASL_PASSWORD=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
SCHEMA_REGISTRY_USER=bench SCHEMA_REGISTRY_PASSWORD=$KAFKA_SASL_PASSWORD
export KAFKA_SASL_USER KAFKA_SASL_PASSWORD SCHEMA_REGISTRY_USER SCHEMA_REGISTRY_PASSWORD
"$dir/bank" broker --data-dir "$dir/data" --kafka-port 0 --registry-addr 127.0.0.1:0 >"$dir/broker.out" 2>"$dir/broker.log" &
waitfor "$dir/broker.out" '^Kafka broker at' 30
read -r kafka registry < <(sed -nE 's/^Kafka broker at ([^,]+), Schema Registry at (.+)$/\1 \2/p' "$dir/broker.out")
export KAFKA_BROKERS=$kafka SCHEMA_REGISTRY_URL=$registry BANK_HTTP_ADDR=127.0.0.1:0
"$dir/bank" sync 2>"$dir/sync.log"
"$dir/bankbench" fill --brokers "$kafka" --schema-registry "$registry" --events "$EVENTS" --accounts "$ACCOUNTS" 2>"$dir/fill.log"

# measure SERVICE PATTERN: start it, wait for its rebuilt line, stop it.
measure() {
  local name=$1 pattern=$2 start
  start=$(date +%s.%N)
  "$dir/bank" "$name" 2>"$dir/$name.log" &
  local pid=$!
  waitfor "$dir/$name.log" "$pattern" 600
  local end
  end=$(date +%s.%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$name: $(grep -E "$pattern" "$dir/$name.log" | head -1 | sed -E 's/^time=[^ ]+ level=INFO //')"
  awk -v n="$name" -v s="$start" -v e="$end" 'BEGIN { printf "%s: %.2f s from process start to rebuilt\n", n, e - s }'
}
measure commands 'msg="state rebuilt"'
measure projector 'msg="read model rebuilt"'
