#!/usr/bin/env bash
# Run an N-node Apache Kafka 4.x KRaft cluster on this machine (one JVM per node) from the jars
# fetched by scripts/fetch-kafka.sh, mirroring the multi-broker `oxbow serve` contract:
#   - runs in the foreground; once every node answers a Metadata request listing all N brokers,
#     prints one line `ready kafka 127.0.0.1:PORT` per node on stdout, in node id order;
#   - nodes 1..min(N,3) are combined broker+controller nodes and form the controller quorum
#     (controller.quorum.voters=1@…,2@…,3@…); further nodes are brokers only;
#   - every node's data lives in DIR/node-ID/ (data/ is its log.dirs, plus server.properties and
#     `pid`, the node's JVM pid while it runs); stderr gets `node ID pid PID port PORT` per node,
#     then Kafka's logging, each line prefixed `[node ID]`;
#   - a node that dies (e.g. `kill -9 $(cat DIR/node-2/pid)`) leaves the others running; the script
#     exits once every node is gone, or on SIGTERM/SIGINT: controlled shutdown of every node,
#     SIGKILL after --stop-timeout.
#
# Usage: scripts/apache-kafka-cluster.sh start [--brokers N] [--port P] [--data-dir DIR | --ephemeral]
#            [--config key=value]... [--ready-timeout SECONDS] [--stop-timeout SECONDS]
#   --brokers defaults to 3. --port P puts node ID on P+ID-1; 0 (the default) picks a free port
#   per node. Controller ports are always free ports. DIR's nodes are formatted (one cluster id)
#   on first use and reused as is afterwards.
#   Defaults for a replicated cluster: default.replication.factor=min(N,3), min.insync.replicas=
#   min(N,2), the internal topics likewise; the failure-detection timing is Oxbow's defaults
#   (broker.session.timeout.ms=6000, broker.heartbeat.interval.ms=500, replica.lag.time.max.ms=
#   10000). --config lines come last, so they override any of these.
# Environment: KAFKA_HEAP_OPTS (default -Xmx768m -Xms768m per node), KAFKA_JVM_OPTS,
#   KAFKA_LOG_LEVEL (default WARN), KAFKA_LIBS (jars to use instead of fetching .cache/kafka/libs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/scripts/kafka-run-class.sh"
# shellcheck source=kafka-common.sh
source "$ROOT/scripts/kafka-common.sh"

die() { echo "apache-kafka-cluster: $*" >&2; exit 1; }
usage() { sed -n '2,25p' "$0" >&2; exit 2; }

[[ "${1:-}" == "start" ]] || usage
shift

brokers=3 first_port=0 data_dir="" ephemeral=0 ready_timeout=180 stop_timeout=30
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --brokers) brokers="$2"; shift 2 ;;
    --port) first_port="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --ephemeral) ephemeral=1; shift ;;
    --config) extra+=("$2"); shift 2 ;;
    --ready-timeout) ready_timeout="$2"; shift 2 ;;
    --stop-timeout) stop_timeout="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ "$brokers" =~ ^[1-9][0-9]*$ ]] || die "--brokers must be a positive number"
[[ "$first_port" =~ ^[0-9]+$ ]] || die "--port must be a number"

if [[ -z "${KAFKA_LIBS:-}" ]]; then
  "$ROOT/scripts/fetch-kafka.sh"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/apache-kafka-cluster.XXXXXX")"
if [[ "$ephemeral" == 1 ]]; then
  data_dir="$work/data"
elif [[ -z "$data_dir" ]]; then
  rm -rf "$work"
  die "give --data-dir DIR or --ephemeral"
fi
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"

declare -a pids=()
cleanup() {
  local id
  for id in "${!pids[@]}"; do
    kill -KILL "${pids[$id]}" 2>/dev/null || true
    rm -f "$data_dir/node-$id/pid"
  done
  rm -rf "$work"
}
trap cleanup EXIT

# Ports: Kafka listeners from --port (or free ones), controller listeners free, all distinct.
declare -a ports=() cports=()
taken=" "
pick_port() {
  local p
  # Bounded: the OS rarely hands out a port it just handed out.
  for _ in 1 2 3 4 5 6 7 8; do
    p="$(kafka_free_port)"
    if [[ "$taken" != *" $p "* ]]; then break; fi
  done
  taken+="$p "
  echo "$p"
}
for ((id = 1; id <= brokers; id++)); do
  if [[ "$first_port" == 0 ]]; then
    ports[id]="$(pick_port)"
  else
    ports[id]=$((first_port + id - 1))
  fi
  taken+="${ports[id]} "
done
voters_count=$((brokers < 3 ? brokers : 3))
voters=""
for ((id = 1; id <= voters_count; id++)); do
  cports[id]="$(pick_port)"
  voters+="${voters:+,}$id@127.0.0.1:${cports[id]}"
done
replication=$((brokers < 3 ? brokers : 3))
min_isr=$((brokers < 2 ? brokers : 2))

write_config() {
  local id="$1" node_dir="$2" conf="$2/server.properties"
  mkdir -p "$node_dir/data"
  if ((id <= voters_count)); then
    cat > "$conf" <<PROPS
process.roles=broker,controller
listeners=PLAINTEXT://127.0.0.1:${ports[id]},CONTROLLER://127.0.0.1:${cports[id]}
PROPS
  else
    cat > "$conf" <<PROPS
process.roles=broker
listeners=PLAINTEXT://127.0.0.1:${ports[id]}
PROPS
  fi
  cat >> "$conf" <<PROPS
node.id=$id
controller.quorum.voters=$voters
advertised.listeners=PLAINTEXT://127.0.0.1:${ports[id]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$node_dir/data
num.partitions=1
auto.create.topics.enable=true
default.replication.factor=$replication
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$replication
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$replication
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=500
replica.lag.time.max.ms=10000
PROPS
  local kv
  for kv in "${extra[@]+"${extra[@]}"}"; do echo "$kv" >> "$conf"; done
}

cluster_id=""
declare -a formatting=()
for ((id = 1; id <= brokers; id++)); do
  node_dir="$data_dir/node-$id"
  write_config "$id" "$node_dir"
  if [[ ! -f "$node_dir/data/meta.properties" ]]; then
    [[ -n "$cluster_id" ]] || cluster_id="$(kafka_new_cluster_id)"
    # One cluster id for every node; the nodes format in parallel (each is a JVM start).
    "$RUN" kafka.tools.StorageTool format --cluster-id "$cluster_id" \
      --config "$node_dir/server.properties" > >(sed -u "s/^/[node $id] /" >&2) 2>&1 &
    formatting[id]=$!
  fi
done
for id in "${!formatting[@]}"; do
  wait "${formatting[$id]}" || die "formatting node $id ($data_dir/node-$id) failed"
done

export KAFKA_LOG4J_CONFIG="${KAFKA_LOG4J_CONFIG:-$ROOT/scripts/kafka-dist/log4j2-server.properties}"
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx768m -Xms768m}"
export KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35}"
for ((id = 1; id <= brokers; id++)); do
  node_dir="$data_dir/node-$id"
  # kafka-run-class.sh execs java: $! is the node's JVM.
  "$RUN" kafka.Kafka "$node_dir/server.properties" > >(sed -u "s/^/[node $id] /" >&2) 2>&1 &
  pids[id]=$!
  echo "${pids[id]}" > "$node_dir/pid"
  echo "node $id pid ${pids[id]} port ${ports[id]} dir $node_dir" >&2
done

stopping=0
stop_deadline=0
on_signal() {
  if [[ "$stopping" == 0 ]]; then
    stopping=1
    stop_deadline=$((SECONDS + stop_timeout))
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  fi
}
trap on_signal TERM INT

# Ready = every node answers a Metadata request listing all N brokers (all registered).
deadline=$((SECONDS + ready_timeout))
for ((id = 1; id <= brokers; id++)); do
  until [[ "$stopping" == 1 ]] || kafka_probe "${ports[id]}" "$brokers"; do
    for other in "${!pids[@]}"; do
      kill -0 "${pids[$other]}" 2>/dev/null || die "node $other exited before the cluster was ready"
    done
    if (( SECONDS >= deadline )); then die "cluster not ready after ${ready_timeout}s"; fi
    sleep 0.2
  done
done
if [[ "$stopping" == 0 ]]; then
  for ((id = 1; id <= brokers; id++)); do echo "ready kafka 127.0.0.1:${ports[id]}"; done
fi

# Until every node is gone (bash reaps exited children, so kill -0 fails for them); a signal
# starts the shutdown, and SIGKILL ends whatever outlives --stop-timeout.
while :; do
  alive=0
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then alive=1; fi
  done
  [[ "$alive" == 1 ]] || break
  if [[ "$stopping" == 1 ]] && (( SECONDS >= stop_deadline )); then
    echo "apache-kafka-cluster: nodes still running ${stop_timeout}s after SIGTERM; killing them" >&2
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  sleep 0.2
done
[[ "$stopping" == 1 ]] || die "every node exited"
exit 0
