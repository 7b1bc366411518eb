#!/usr/bin/env bash
# Run a single-node Apache Kafka 4.x (KRaft, combined broker+controller) from the jars fetched by
# scripts/fetch-kafka.sh, mirroring the `oxbow serve` contract so tests and the bench can treat both alike:
#   - runs in the foreground; prints exactly one line `ready kafka 127.0.0.1:PORT` on stdout once the
#     broker answers requests (Kafka's own logging goes to stderr);
#   - SIGTERM/SIGINT -> controlled shutdown, exit 0.
#
# Usage: scripts/apache-kafka.sh start [--port P] [--data-dir DIR | --ephemeral]
#            [--controller-port P] [--auto-create-topics true|false] [--num-partitions N]
#            [--config key=value]... [--ready-timeout SECONDS]
#   --port 0 (the default) picks a free port; so does --controller-port 0 (the default).
#   DIR is Kafka's log.dirs: partitions live in DIR/TOPIC-PARTITION/, KRaft metadata in DIR/__cluster_metadata-0/.
#   DIR is formatted on first use and reused as is afterwards (restart on the same data).
# Environment: KAFKA_HEAP_OPTS (default -Xmx1g -Xms1g), KAFKA_JVM_OPTS, KAFKA_LOG_LEVEL (default WARN).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/scripts/kafka-run-class.sh"
# shellcheck source=kafka-common.sh
source "$ROOT/scripts/kafka-common.sh"

die() { echo "apache-kafka: $*" >&2; exit 1; }
usage() { sed -n '2,16p' "$0" >&2; exit 2; }

[[ "${1:-}" == "start" ]] || usage
shift

port=0 cport=0 data_dir="" ephemeral=0 auto_create=true num_partitions=1 ready_timeout=120
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --controller-port) cport="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --ephemeral) ephemeral=1; shift ;;
    --auto-create-topics) auto_create="$2"; shift 2 ;;
    --num-partitions) num_partitions="$2"; shift 2 ;;
    --config) extra+=("$2"); shift 2 ;;
    --ready-timeout) ready_timeout="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ "$auto_create" == true || "$auto_create" == false ]] || die "--auto-create-topics must be true or false"

"$ROOT/scripts/fetch-kafka.sh"

[[ "$port" == 0 ]] && port="$(kafka_free_port)"
[[ "$cport" == 0 ]] && cport="$(kafka_free_port)"
[[ "$port" != "$cport" ]] || cport="$(kafka_free_port)"

work="$(mktemp -d "${TMPDIR:-/tmp}/apache-kafka.XXXXXX")"
child=""
cleanup() {
  if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then kill -KILL "$child" 2>/dev/null || true; fi
  rm -rf "$work"
  if [[ "$ephemeral" == 1 && -n "$data_dir" ]]; then rm -rf "$data_dir"; fi
}
trap cleanup EXIT

if [[ "$ephemeral" == 1 ]]; then
  data_dir="$work/data"
elif [[ -z "$data_dir" ]]; then
  die "give --data-dir DIR or --ephemeral"
fi
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"

conf="$work/server.properties"
cat > "$conf" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data_dir
num.partitions=$num_partitions
auto.create.topics.enable=$auto_create
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
for kv in "${extra[@]+"${extra[@]}"}"; do echo "$kv" >> "$conf"; done

if [[ ! -f "$data_dir/meta.properties" ]]; then
  cluster_id="$(kafka_new_cluster_id)"
  "$RUN" kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$conf" >&2 \
    || die "formatting $data_dir failed"
fi

export KAFKA_LOG4J_CONFIG="${KAFKA_LOG4J_CONFIG:-$ROOT/scripts/kafka-dist/log4j2-server.properties}"
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1g -Xms1g}"
export KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35}"
"$RUN" kafka.Kafka "$conf" 1>&2 &
child=$!

stopping=0
on_signal() {
  stopping=1
  kill -TERM "$child" 2>/dev/null || true
}
trap on_signal TERM INT

# Ready = the broker answers a Metadata request listing itself (kafka_probe, kafka-common.sh).
deadline=$((SECONDS + ready_timeout))
until kafka_probe "$port"; do
  if ! kill -0 "$child" 2>/dev/null; then
    wait "$child" || true
    die "Kafka exited before it was ready"
  fi
  if [[ "$stopping" == 1 ]]; then break; fi
  if (( SECONDS >= deadline )); then die "Kafka not ready after ${ready_timeout}s"; fi
  sleep 0.2
done
[[ "$stopping" == 1 ]] || echo "ready kafka 127.0.0.1:$port"

# `wait` returns early when a trapped signal arrives; keep waiting until the JVM is gone.
rc=0
while kill -0 "$child" 2>/dev/null; do
  wait "$child" && rc=0 || rc=$?
done
child=""
# The JVM exits 143 after a SIGTERM-initiated (clean) shutdown.
if [[ "$stopping" == 1 && ( "$rc" == 143 || "$rc" == 130 ) ]]; then rc=0; fi
exit "$rc"
