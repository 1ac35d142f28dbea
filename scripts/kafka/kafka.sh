#!/usr/bin/env bash
# Local Apache Kafka 4.x for integration tests: one broker and its KRaft
# controller, each a process of its own (write_config says why). No Docker:
# the jars come from Maven Central through scripts/kafka/pom.xml and run on
# the local Java (17 or newer).
#
# Usage:
#   scripts/kafka/kafka.sh start [PORT]   start a broker on 127.0.0.1:PORT (default 29092);
#                                         prints "127.0.0.1:PORT" on stdout once it is ready.
#                                         If that broker is already running it is reused.
#   scripts/kafka/kafka.sh stop [PORT]    stop it and its controller (SIGTERM, then SIGKILL
#                                         after 30 s each) and delete its state dir
#   scripts/kafka/kafka.sh restart [PORT] stop, then start with empty storage
#   scripts/kafka/kafka.sh status [PORT]  exit 0 and print the address if it is running
#   scripts/kafka/kafka.sh crash [PORT]   SIGKILL the running broker and, once its controller
#                                         has fenced it, start it again on its data, as after a
#                                         crash (for the crash tests)
#   scripts/kafka/kafka.sh fetch          only download the jars (warms the cache for CI)
#   scripts/kafka/kafka.sh start-secure [PORT]
#                                         start (or reuse) a secured broker: SASL/SCRAM-SHA-512
#                                         listeners, the StandardAuthorizer with no access where
#                                         no ACL grants it, super user admin (scripts/kafka/secure.sh,
#                                         as docker-compose.yml's Kafka). KAFKA_PRINCIPALS names the
#                                         principals (space separated, admin among them); each gets
#                                         a random password, created at format time and written to
#                                         run-PORT/passwords.env (KAFKA_PASSWORD_<NAME>=..., 0600).
#                                         Stop it with stop, restart it on its data with crash.
#
# Everything lives under .cache/kafka/ in the repo (git-ignored):
#   lib/          the jars (copied from the Maven local repo, ~/.m2 by default)
#   run-PORT/     state of the broker on PORT: server.properties, log4j2.properties,
#                 server.log (all broker output), format.log, kafka.pid, data/, and
#                 controller/ with the same files for its KRaft controller (on PORT+1)
#
# Environment (all optional):
#   KAFKA_CONTROLLER_PORT  controller listener port (default PORT+1, also loopback only)
#   KAFKA_START_TIMEOUT    seconds to wait for the controller, then the broker, to be ready,
#                          and for crash's fence (default 90 each)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (default 30)
#   KAFKA_HEAP_OPTS        JVM heap flags of the broker (default "-Xms256m -Xmx512m"; the
#                          controller has -Xms64m -Xmx192m)
#   KAFKA_JVM_OPTS         extra JVM flags of both processes, appended to the defaults
#   KAFKA_EXTRA_PROPS      extra lines of the broker's server.properties (newline separated),
#                          appended last; the controller's are not configurable
#   KAFKA_CACHE_DIR        instead of <repo>/.cache/kafka
#   KAFKA_JAVA             java binary to use (else $JAVA_HOME/bin/java, else java on PATH)
#   KAFKA_PRINCIPALS       start-secure: the SCRAM users to create (see above)
#   MVN                    maven binary (default mvn)
#
# Only the address goes to stdout, so `addr=$(scripts/kafka/kafka.sh start)` works;
# progress and errors go to stderr.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
POM=$SCRIPT_DIR/pom.xml
CACHE_DIR=${KAFKA_CACHE_DIR:-$ROOT/.cache/kafka}
LIB_DIR=$CACHE_DIR/lib
DEFAULT_PORT=29092
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
HOST=127.0.0.1
# Main class of the broker and of the storage formatter (kafka-storage.sh).
BROKER_MAIN=kafka.Kafka
STORAGE_MAIN=kafka.tools.StorageTool
# Logged by KafkaRaftServer once a broker or a controller is up.
READY_LINE='Kafka Server started'
# JVM system property that tags our processes (broker, controller, storage
# formatter); its value is the process's state dir.
MARKER=-Dopenbank.kafka.run

# Set by start-secure: SASL/SCRAM and ACLs (secure.sh).
SECURE=
# shellcheck source=secure.sh
. "$SCRIPT_DIR/secure.sh"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
	exit 2
}

# --- helpers -----------------------------------------------------------------

check_port() { # NAME VALUE
	if ! [[ $2 =~ ^[1-9][0-9]{0,4}$ ]] || (($2 > 65535)); then
		die "$1 must be a TCP port number, got '$2'"
	fi
}

port_open() { # PORT: true if something accepts TCP connections on HOST:PORT
	(exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# Take an exclusive lock on FILE using file descriptor FD (flock(1) when present).
lock() { # FD FILE
	command -v flock >/dev/null 2>&1 || return 0
	eval "exec $1>\"\$2\""
	flock "$1"
}

pom_hash() { cksum <"$POM" | tr -d ' \t'; }

jars_ok() {
	[[ -f $LIB_DIR/.pom-hash ]] && [[ $(<"$LIB_DIR/.pom-hash") == "$(pom_hash)" ]] &&
		compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null
}

fetch() {
	mkdir -p "$CACHE_DIR"
	lock 8 "$CACHE_DIR/.fetch.lock"
	fetch_locked
	exec 8>&-
}

fetch_locked() {
	if jars_ok; then return 0; fi
	local mvn=${MVN:-mvn}
	command -v "$mvn" >/dev/null 2>&1 || die "'$mvn' not found: Maven is needed to fetch the Kafka jars"
	local tmp
	tmp=$(mktemp -d "$CACHE_DIR/lib.tmp.XXXXXX")
	log "fetching Kafka jars from Maven Central into $LIB_DIR ..."
	# Maven's output is kept in fetch.log and shown only on failure (Debian's
	# Maven 3.8 prints stray colour escapes even with -q -B).
	if ! "$mvn" -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$tmp" </dev/null >"$CACHE_DIR/fetch.log" 2>&1; then
		rm -rf "$tmp"
		tail -n 40 "$CACHE_DIR/fetch.log" >&2
		die "mvn dependency:copy-dependencies failed (full output in $CACHE_DIR/fetch.log)"
	fi
	pom_hash >"$tmp/.pom-hash"
	rm -rf "$LIB_DIR"
	mv "$tmp" "$LIB_DIR"
	log "jars ready: $(find "$LIB_DIR" -name '*.jar' | wc -l | tr -d ' ') files"
}

find_java() {
	local j
	if [[ -n ${KAFKA_JAVA:-} ]]; then
		j=$KAFKA_JAVA
	elif [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
		j=$JAVA_HOME/bin/java
	else
		j=$(command -v java) || die "java not found: Kafka 4 needs Java 17 or newer"
	fi
	local v major
	v=$("$j" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n1)
	major=${v%%[.-]*}
	if ! [[ $major =~ ^[0-9]+$ ]] || ((major < 17)); then
		die "$j is Java '${v:-?}'; Kafka 4 needs Java 17 or newer"
	fi
	JAVA=$j
}

is_ours() { # PID SD: the process is alive and is the one of state dir SD
	local args
	args=$(ps -ww -o args= -p "$1" 2>/dev/null) || return 1
	[[ " $args " == *" $MARKER=$2 "* ]]
}

# Print the pid of the process of state dir SD, if one is running.
running_pid() { # SD
	local sd=$1 pid
	if [[ -f $sd/kafka.pid ]]; then
		pid=$(<"$sd/kafka.pid")
		if [[ $pid =~ ^[0-9]+$ ]] && is_ours "$pid" "$sd"; then
			echo "$pid"
			return 0
		fi
	fi
	# Pid file missing or stale: look for a process tagged with this state dir.
	local all
	all=$(ps -eww -o pid=,args= 2>/dev/null) || return 0
	while read -r pid _; do
		if is_ours "$pid" "$sd"; then
			echo "$pid"
			return 0
		fi
	done < <(grep -F -- " $MARKER=$sd " <<<"$all" || true)
	return 0
}

kill_pid() { # PID SD
	local pid=$1 sd=$2 waited=0
	kill -TERM "$pid" 2>/dev/null || return 0
	while is_ours "$pid" "$sd"; do
		if ((waited >= STOP_TIMEOUT * 10)); then
			log "Kafka pid $pid still running after ${STOP_TIMEOUT}s; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
			break
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
}

print_log_tail() { # SD [FILE]: tail of FILE (default server.log) of state dir SD
	local f=$1/${2:-server.log}
	if [[ -s $f ]]; then
		log "---- last 60 lines of $f ----"
		tail -n 60 "$f" >&2
		log "---- end of $f ----"
	else
		log "$f is empty"
	fi
	if compgen -G "$1/hs_err_*.log" >/dev/null; then
		log "JVM crash logs: $(echo "$1"/hs_err_*.log)"
	fi
	return 0
}

# Wait until process PID of state dir SD has logged READY_LINE and accepts
# connections on PORT.
wait_ready() { # PID SD PORT
	local pid=$1 sd=$2 port=$3 deadline=$((SECONDS + START_TIMEOUT))
	while :; do
		if ! is_ours "$pid" "$sd"; then
			log "Kafka (pid $pid) exited during startup"
			print_log_tail "$sd"
			return 1
		fi
		if grep -qF "$READY_LINE" "$sd/server.log" 2>/dev/null && port_open "$port"; then
			return 0
		fi
		if ((SECONDS >= deadline)); then
			log "Kafka (pid $pid) not ready after ${START_TIMEOUT}s"
			print_log_tail "$sd"
			return 1
		fi
		sleep 0.2
	done
}

write_config() { # SD PORT CPORT
	local sd=$1 port=$2 cport=$3
	local listener=PLAINTEXT
	[[ -n $SECURE ]] && listener=SASL
	# The controller runs apart from the broker (Kafka: "Combined mode is not
	# recommended in critical deployment environments"): a broker killed by
	# cmd_crash is fenced by a controller that stayed up, and restarts on
	# that fenced registration. Combined in one process, the restarted
	# controller still held the dead broker's registration, and until it
	# fenced it the broker ran its coordinators on that stale view, which at
	# the fence left a hanging transaction (README, "A hanging transaction").
	mkdir -p "$sd/controller/data"
	cat >"$sd/controller/server.properties" <<EOF
# Generated by scripts/kafka/kafka.sh: the KRaft controller of the test broker.
process.roles=controller
node.id=2
controller.quorum.bootstrap.servers=$HOST:$cport
controller.listener.names=CONTROLLER
listeners=CONTROLLER://$HOST:$cport
log.dirs=$sd/controller/data
EOF
	cat >"$sd/server.properties" <<EOF
# Generated by scripts/kafka/kafka.sh: the single broker for tests.
process.roles=broker
node.id=1
controller.quorum.bootstrap.servers=$HOST:$cport
controller.listener.names=CONTROLLER
listeners=$listener://$HOST:$port
advertised.listeners=$listener://$HOST:$port
log.dirs=$sd/data

# One broker: every internal topic has a single replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Fewer partitions for __consumer_offsets / __transaction_state: the first
# group join and the first transactional producer come up much faster.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1

# Topics are created explicitly by the code under test.
auto.create.topics.enable=false
num.partitions=1
group.initial.rebalance.delay.ms=0

num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
	local f
	for f in "$sd/server.properties" "$sd/controller/server.properties"; do
		if [[ -n $SECURE ]]; then
			chmod 600 "$f" # the admin's password goes in
			printf '\n' >>"$f"
			secure_properties >>"$f"
		else
			printf '%s\n' inter.broker.listener.name=PLAINTEXT \
				listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT >>"$f"
		fi
	done
	if [[ -n ${KAFKA_EXTRA_PROPS:-} ]]; then
		printf '\n# KAFKA_EXTRA_PROPS\n%s\n' "$KAFKA_EXTRA_PROPS" >>"$sd/server.properties"
	fi

	# Everything goes to stdout, which launch() sends to server.log.
	cat >"$sd/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF
	cp "$sd/log4j2.properties" "$sd/controller/log4j2.properties"
}

# A random Kafka cluster id: 16 random bytes, URL-safe base64 without padding,
# not starting with '-' (what org.apache.kafka.common.Uuid.randomUuid gives).
cluster_id() {
	local id
	while :; do
		id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
		[[ ${#id} == 22 && $id != -* && $id != AAAAAAAAAAAAAAAAAAAAAA && $id != AAAAAAAAAAAAAAAAAAAAAQ ]] && break
	done
	echo "$id"
}

# make_passwords gives every principal of KAFKA_PRINCIPALS a random password:
# exported as KAFKA_PASSWORD_<NAME> and kept in SD/passwords.env (0600).
make_passwords() { # SD
	local sd=$1 name pw
	[[ " ${KAFKA_PRINCIPALS:-} " == *" admin "* ]] || die "KAFKA_PRINCIPALS must name the principals, admin among them"
	(umask 077 && : >"$sd/passwords.env")
	for name in $KAFKA_PRINCIPALS; do
		[[ $name =~ ^[a-z][a-z0-9]*$ ]] || die "principal '$name': lower-case letters and digits"
		pw=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
		export "KAFKA_PASSWORD_${name^^}=$pw"
		echo "KAFKA_PASSWORD_${name^^}=$pw" >>"$sd/passwords.env"
	done
}

# format writes the storage of DIR (its server.properties) for cluster ID;
# the rest of the arguments go to kafka-storage format.
format() { # DIR ID [ARGS...]
	local dir=$1 id=$2
	shift 2
	if ! "$JAVA" "$MARKER=$dir" -Xmx256m -XX:TieredStopAtLevel=1 -cp "$LIB_DIR/*" "$STORAGE_MAIN" format \
		--config "$dir/server.properties" --cluster-id "$id" "$@" \
		</dev/null >"$dir/format.log" 2>&1 9>&- 8>&-; then
		log "formatting $dir failed"
		print_log_tail "$dir" format.log
		return 1
	fi
}

# kill_now sends SIGKILL to PID of state dir SD and waits until it is gone.
kill_now() { # PID SD
	kill -KILL "$1" 2>/dev/null || true
	while is_ours "$1" "$2"; do sleep 0.05; done
}

# stop_all stops the broker and the controller of state dir SD; it fails
# if neither was running. A broker whose controller is gone would wait out
# STOP_TIMEOUT for a controlled shutdown no one can grant: it gets SIGKILL
# (its state is deleted next anyway).
stop_all() { # SD
	local sd=$1 pid cpid
	pid=$(running_pid "$sd")
	cpid=$(running_pid "$sd/controller")
	if [[ -n $pid && -z $cpid ]]; then
		log "no controller: SIGKILL to broker pid $pid"
		kill_now "$pid" "$sd"
	elif [[ -n $pid ]]; then
		log "stopping broker pid $pid"
		kill_pid "$pid" "$sd"
	fi
	[[ -n $cpid ]] && log "stopping controller pid $cpid" && kill_pid "$cpid" "$sd/controller"
	[[ -n $pid$cpid ]]
}

# --- commands ----------------------------------------------------------------

cmd_start() {
	local port=$1 sd=$CACHE_DIR/run-$1
	check_port PORT "$port"
	local cport=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
	check_port KAFKA_CONTROLLER_PORT "$cport"
	[[ $cport != "$port" ]] || die "controller port must differ from the broker port"
	mkdir -p "$CACHE_DIR"
	lock 9 "$CACHE_DIR/run-$port.lock"

	local pid
	pid=$(running_pid "$sd")
	if [[ -n $pid && -n $(running_pid "$sd/controller") ]]; then
		log "broker for port $port already running (pid $pid); reusing it"
		if wait_ready "$pid" "$sd" "$port"; then
			echo "$pid" >"$sd/kafka.pid"
			echo "$HOST:$port"
			return 0
		fi
		log "restarting it"
	fi
	stop_all "$sd" || true

	# Stale state from an earlier run (crashed, killed, rebooted): start afresh.
	rm -rf "$sd"
	port_open "$port" && die "$HOST:$port is already in use by another process"
	port_open "$cport" && die "controller port $HOST:$cport is already in use by another process (set KAFKA_CONTROLLER_PORT)"

	fetch
	find_java
	mkdir -p "$sd/data"
	local -a scram=()
	if [[ -n $SECURE ]]; then
		make_passwords "$sd"
		mapfile -t scram < <(secure_scram_args)
	fi
	write_config "$sd" "$port" "$cport"

	local id
	id=$(cluster_id)
	# The users' SCRAM credentials are metadata: the controller's log holds them.
	format "$sd/controller" "$id" --standalone ${scram[@]+"${scram[@]}"} || exit 1
	format "$sd" "$id" || exit 1

	launch "$sd/controller" "$cport" controller || { stop_all "$sd" || true; exit 1; }
	if ! launch "$sd" "$port" broker; then
		print_log_tail "$sd/controller" # where refused connections and SASL errors show
		stop_all "$sd" || true
		exit 1
	fi
	log "broker ready on $HOST:$port (controller $HOST:$cport)"
	echo "$HOST:$port"
}

# launch starts the NAME (broker or controller) of state dir DIR, formatted
# already, and waits until it is ready on PORT.
launch() { # DIR PORT NAME
	local sd=$1 port=$2 name=$3 pid
	local cp="$LIB_DIR/*"
	local -a jvm=(
		"$MARKER=$sd"
		-Djava.awt.headless=true
		-Dlog4j2.configurationFile="$sd/log4j2.properties"
		-Dkafka.logs.dir="$sd"
		-XX:ErrorFile="$sd/hs_err_%p.log"
		-XX:+ExitOnOutOfMemoryError
	)
	rm -f "$sd/kafka.pid"
	# shellcheck disable=SC2206 # word splitting of the flag lists is intended
	local -a heap=(${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}) extra=(${KAFKA_JVM_OPTS:-})
	[[ $name == controller ]] && heap=(-Xms64m -Xmx192m)
	local -a launcher=()
	command -v setsid >/dev/null 2>&1 && launcher=(setsid)
	# The inner shell writes its own pid, then becomes the JVM; setsid detaches
	# the process from the caller's session and process group, and no fd of
	# the caller (stdout of $(...), the lock files) stays open in it.
	# shellcheck disable=SC2016 # $$ and $1 are for the inner shell
	${launcher[@]+"${launcher[@]}"} bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-launch "$sd/kafka.pid" \
		"$JAVA" "${jvm[@]}" "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		${extra[@]+"${extra[@]}"} -cp "$cp" "$BROKER_MAIN" "$sd/server.properties" \
		</dev/null >"$sd/server.log" 2>&1 9>&- 8>&- &
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $sd/kafka.pid ]] && break
		sleep 0.05
	done
	pid=$(<"$sd/kafka.pid") || { log "$name did not start (no pid file)"; return 1; }

	log "started $name pid $pid (state in $sd, log $sd/server.log); waiting up to ${START_TIMEOUT}s"
	if ! wait_ready "$pid" "$sd" "$port"; then
		kill_pid "$pid" "$sd"
		return 1
	fi
}

# fences counts the controller's fencings of the broker of state dir SD
# for a lapsed session (the line as Kafka 4.4 logs it; check it when
# kafka.version changes).
fences() { # SD
	local f=$1/controller/server.log
	if [[ -f $f ]]; then grep -c "Fencing broker 1 at epoch .* because its session has timed out" "$f" || true; else echo 0; fi
}

# cmd_crash kills the broker with SIGKILL and starts it again on its data
# once the controller has fenced it, as a real broker would come back.
cmd_crash() {
	local port=$1 sd=$CACHE_DIR/run-$1
	check_port PORT "$port"
	lock 9 "$CACHE_DIR/run-$port.lock"
	local pid cpid before deadline
	pid=$(running_pid "$sd")
	[[ -n $pid ]] || die "no broker running for port $port"
	cpid=$(running_pid "$sd/controller")
	[[ -n $cpid ]] || die "no controller running for port $port: nothing would fence the killed broker"
	before=$(fences "$sd")
	log "SIGKILL to broker pid $pid"
	kill_now "$pid" "$sd"
	deadline=$((SECONDS + START_TIMEOUT))
	while (($(fences "$sd") <= before)); do
		if ! is_ours "$cpid" "$sd/controller"; then
			die "the controller (pid $cpid) exited before fencing the killed broker"
		fi
		if ((SECONDS >= deadline)); then
			log "warning: the controller did not fence the killed broker in ${START_TIMEOUT}s; starting it anyway"
			break
		fi
		sleep 0.1
	done
	find_java
	launch "$sd" "$port" broker || exit 1
	log "broker ready on $HOST:$port after the crash"
	echo "$HOST:$port"
}

cmd_stop() {
	local port=$1 sd=$CACHE_DIR/run-$1
	check_port PORT "$port"
	mkdir -p "$CACHE_DIR"
	lock 9 "$CACHE_DIR/run-$port.lock"
	stop_all "$sd" || log "no broker running for port $port"
	rm -rf "$sd"
}

cmd_status() {
	local port=$1 sd=$CACHE_DIR/run-$1 pid
	check_port PORT "$port"
	pid=$(running_pid "$sd")
	if [[ -n $pid ]] && grep -qF "$READY_LINE" "$sd/server.log" 2>/dev/null && port_open "$port"; then
		log "running, pid $pid"
		echo "$HOST:$port"
		return 0
	fi
	log "not running on port $port"
	return 1
}

main() {
	(($# >= 1)) || usage
	local cmd=$1
	shift
	case $cmd in
	start | stop | restart | status | crash | start-secure)
		(($# <= 1)) || usage
		local port=${1:-$DEFAULT_PORT}
		case $cmd in
		start) cmd_start "$port" ;;
		start-secure) SECURE=1 cmd_start "$port" ;;
		stop) cmd_stop "$port" ;;
		restart) (cmd_stop "$port") && cmd_start "$port" ;;
		status) cmd_status "$port" ;;
		crash) cmd_crash "$port" ;;
		esac
		;;
	fetch)
		(($# == 0)) || usage
		fetch
		;;
	-h | --help | help) usage ;;
	*) usage ;;
	esac
}

main "$@"
