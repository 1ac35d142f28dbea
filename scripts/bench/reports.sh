#!/usr/bin/env bash
# docs/benchmarks.md, "The SQL reports store": how fast `bank reports`
# writes a long event log into PostgreSQL.
#
#   scripts/bench/reports.sh            # 1,000,000 events
#   EVENTS=200000 scripts/bench/reports.sh
#   PROFILE=/tmp/reports.pprof scripts/bench/reports.sh   # and a CPU profile
#
# Starts an embedded broker in a temporary directory, writes EVENTS events
# with `bankbench fill` (as scripts/bench/replay.sh does), starts a
# PostgreSQL server of the system's binaries (as the user postgres when
# run as root: PostgreSQL refuses root), then runs `bank reports` on empty
# tables until it has caught up, and `bank reports --rebuild` on the full
# ones (building new tables beside them and swapping them in), and prints
# each one's rate from its own log line. Everything runs on this machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENTS=${EVENTS:-1000000}
ACCOUNTS=${ACCOUNTS:-1000}
dir=$(mktemp -d)
chmod 711 "$dir" # PostgreSQL's user passes through to its directory
# As the bank finds them (pgserver.Binaries): Debian's, else on PATH.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ ! -x "$pgbin/postgres" ] && command -v postgres >/dev/null; then pgbin=$(dirname "$(command -v postgres)"); fi
[ -x "$pgbin/postgres" ] || { echo "reports: PostgreSQL is not installed (make tools)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  [ -f "$dir/pg/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$dir/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

go build -o "$dir/bank" ./cmd/bank
go build -o "$dir/bankbench" ./cmd/bankbench

# waitfor FILE REGEX SECONDS: until a line of FILE matches.
waitfor() {
  for _ in $(seq 1 $(($3 * 10))); do
    if grep -qE "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "reports: no '$2' in $1 after $3 s:" >&2; tail -20 "$1" >&2; exit 1
}

# The broker accepts these credentials, and every process below uses them.
KAFKA_SASL_USER=bench KAFKA_SASL_PASSWORD=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
SCHEMA_REGISTRY_USER=bench SCHEMA_REGISTRY_PASSWORD=$KAFKA_SASL_PASSWORD
export KAFKA_SASL_USER KAFKA_SASL_PASSWORD SCHEMA_REGISTRY_USER SCHEMA_REGISTRY_PASSWORD
"$dir/bank" broker --data-dir "$dir/data" --kafka-port 0 --registry-addr 127.0.0.1:0 >"$dir/broker.out" 2>"$dir/broker.log" &
waitfor "$dir/broker.out" '^Kafka broker at' 30
read -r kafka registry < <(sed -nE 's/^Kafka broker at ([^,]+), Schema Registry at (.+)$/\1 \2/p' "$dir/broker.out")
export KAFKA_BROKERS=$kafka SCHEMA_REGISTRY_URL=$registry BANK_HTTP_ADDR=127.0.0.1:0
"$dir/bank" sync 2>"$dir/sync.log" || { tail -5 "$dir/sync.log" >&2; exit 1; }
"$dir/bankbench" fill --brokers "$kafka" --schema-registry "$registry" --events "$EVENTS" --accounts "$ACCOUNTS" 2>"$dir/fill.log" ||
  { tail -5 "$dir/fill.log" >&2; exit 1; }

# PostgreSQL with its defaults (fsync on), on a free port.
mkdir "$dir/pg"; printf 'bench\n' >"$dir/pw"
if [ "$(id -u)" = 0 ]; then chown postgres: "$dir/pg" "$dir/pw"; fi
as_pg "$pgbin/initdb" -D "$dir/pg" -U openbank --pwfile="$dir/pw" --auth=scram-sha-256 -E UTF8 --locale=C >"$dir/initdb.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg/server.log" -w -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=" start >/dev/null
export REPORTS_DB="postgres://openbank:bench@127.0.0.1:$port/postgres" REPORTS_ID=bench

# cpu PID: CPU seconds of a process and of its children it has reaped
# (PostgreSQL's backends end up in the postmaster's).
cpu() { awk '{ printf "%.2f", ($14 + $15 + $16 + $17) / 100 }' "/proc/$1/stat"; }
# cpu_tree PID: cpu of PID and of its live children.
cpu_tree() {
  local sum
  sum=$(cpu "$1")
  for c in $(pgrep -P "$1"); do sum=$(awk -v a="$sum" -v b="$(cpu "$c" 2>/dev/null || echo 0)" 'BEGIN { printf "%.2f", a + b }'); done
  echo "$sum"
}
postmaster=$(head -1 "$dir/pg/postmaster.pid")
broker=$(pgrep -f "$dir/bank broker" | head -1)

# measure NAME ARGS...: run bank reports until its tables have caught up,
# and say what CPU each part used meanwhile.
measure() {
  local name=$1; shift
  local start end pg0 br0 pid
  pg0=$(cpu_tree "$postmaster"); br0=$(cpu "$broker")
  start=$(date +%s.%N)
  if [ -n "${PROFILE:-}" ] && [ "$name" = empty ]; then
    # PROFILE=FILE: a 15-second CPU profile of the catch-up on empty tables.
    local pport
    pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    BANK_HTTP_ADDR=127.0.0.1:$pport "$dir/bank" reports --pprof "$@" 2>"$dir/$name.log" &
    pid=$!
    (sleep 2; curl -s -o "$PROFILE" "http://127.0.0.1:$pport/debug/pprof/profile?seconds=15") &
  else
    "$dir/bank" reports "$@" 2>"$dir/$name.log" &
    pid=$!
  fi
  local pattern='msg="caught up with the event log".* offsets=[1-9]'
  [ "$name" = rebuild ] && pattern='msg="caught up with the event log".*rebuild=true'
  waitfor "$dir/$name.log" "$pattern" 1200
  end=$(date +%s.%N)
  local rep pg br
  rep=$(cpu "$pid"); pg=$(cpu_tree "$postmaster"); br=$(cpu "$broker")
  awk -v n="$name" -v r="$rep" -v p="$pg" -v p0="$pg0" -v b="$br" -v b0="$br0" -v s="$start" -v e="$end" \
    'BEGIN { printf "reports (%s): CPU until caught up: bank reports %.1f s, PostgreSQL %.1f s, broker %.1f s, over %.1f s\n", n, r, p - p0, b - b0, e - s }'
  [ "$name" = rebuild ] && waitfor "$dir/$name.log" 'msg="rebuilt tables swapped in"' 120
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "reports ($name): $(grep -E "$pattern" "$dir/$name.log" | head -1 | sed -E 's/^time=[^ ]+ level=INFO //')"
  awk -v n="$name" -v s="$start" -v e="$end" 'BEGIN { printf "reports (%s): %.2f s from process start to caught up\n", n, e - s }'
}
measure empty
measure rebuild --rebuild
as_pg "$pgbin/psql" "$REPORTS_DB" -Atc "SELECT 'rows: events ' || (SELECT count(*) FROM reports.events) || ', transactions ' || (SELECT count(*) FROM reports.transactions) || ', transfers ' || (SELECT count(*) FROM reports.transfers) || '; database ' || pg_size_pretty(pg_database_size(current_database()))"
