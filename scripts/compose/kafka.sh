#!/usr/bin/env bash
# Entry point of docker-compose.yml's Kafka containers (apache/kafka image):
# writes server.properties for one KRaft node with the security of
# scripts/kafka/secure.sh (SASL/SCRAM listeners, StandardAuthorizer, no
# access without an ACL, super user admin), formats its storage once with a
# SCRAM credential for every KAFKA_PASSWORD_<NAME> it is given (on the
# controller, all principals'; credentials live in the cluster metadata, so
# brokers need only admin's), and starts Kafka. The real-Kafka test tier runs
# the same security (scripts/kafka/kafka.sh start-secure).
#
# Environment: NODE_ID, PROCESS_ROLES (broker,controller or broker),
# ADVERTISED_HOST, CLUSTER_ID, CONTROLLER_QUORUM_VOTERS, REPLICATION,
# KAFKA_PASSWORD_ADMIN and, on the controller, KAFKA_PASSWORD_<NAME> for
# every other principal. (OPENBANK_DIR, KAFKA_HOME, CONF_DIR and DATA_DIR
# default to the container's paths.)
set -euo pipefail
# shellcheck source=../kafka/secure.sh
. "${OPENBANK_DIR:-/openbank}/secure.sh"
: "${NODE_ID:?}" "${PROCESS_ROLES:?}" "${ADVERTISED_HOST:?}" "${CLUSTER_ID:?}" "${CONTROLLER_QUORUM_VOTERS:?}"
home=${KAFKA_HOME:-/opt/kafka}
conf=${CONF_DIR:-/tmp/openbank}
umask 077
mkdir -p "$conf"
listeners=SASL://:${PORT:-9092}
[[ $PROCESS_ROLES == *controller* ]] && listeners+=,CONTROLLER://:${CONTROLLER_PORT:-9093}
cat >"$conf/server.properties" <<PROPS
process.roles=$PROCESS_ROLES
node.id=$NODE_ID
controller.quorum.voters=$CONTROLLER_QUORUM_VOTERS
controller.listener.names=CONTROLLER
listeners=$listeners
advertised.listeners=SASL://$ADVERTISED_HOST:${PORT:-9092}
log.dirs=${DATA_DIR:-/tmp/kraft-combined-logs}
offsets.topic.replication.factor=${REPLICATION:-1}
transaction.state.log.replication.factor=${REPLICATION:-1}
transaction.state.log.min.isr=${REPLICATION:-1}
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0

PROPS
secure_properties >>"$conf/server.properties"
# For the health check and operators' tools: --command-config /tmp/openbank/admin.properties
secure_client_properties >"$conf/admin.properties"
mapfile -t scram < <(secure_scram_args)
"$home/bin/kafka-storage.sh" format --ignore-formatted --cluster-id "$CLUSTER_ID" \
	--config "$conf/server.properties" "${scram[@]}"
exec "$home/bin/kafka-server-start.sh" "$conf/server.properties"
