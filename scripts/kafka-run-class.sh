#!/usr/bin/env bash
# Run a Java main class from the Apache Kafka jars fetched by scripts/fetch-kafka.sh.
# Usage: scripts/kafka-run-class.sh CLASS [ARGS...]
#   e.g. scripts/kafka-run-class.sh org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
# Shorthands for CLASS (Kafka 4.x locations):
#   kafka-topics    org.apache.kafka.tools.TopicCommand
#   kafka-configs   org.apache.kafka.tools.ConfigCommand
#   kafka-console-producer  org.apache.kafka.tools.ConsoleProducer
#   kafka-console-consumer  org.apache.kafka.tools.consumer.ConsoleConsumer
#   kafka-dump-log  org.apache.kafka.tools.DumpLogSegments
#   kafka-get-offsets  org.apache.kafka.tools.GetOffsetShell
#   kafka-storage   kafka.tools.StorageTool
#   kafka-server    kafka.Kafka
# Environment:
#   KAFKA_HEAP_OPTS       default -Xmx512m (tools)
#   KAFKA_JVM_OPTS        default: fast start-up flags for short-lived tools
#   KAFKA_LOG4J_CONFIG    Log4j 2 config file (default scripts/kafka-dist/log4j2-tools.properties)
#   KAFKA_LOG_LEVEL       root log level of the default configs (default WARN)
#   KAFKA_LIBS            directory of Kafka jars to use instead of .cache/kafka/libs
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIBS="${KAFKA_LIBS:-$ROOT/.cache/kafka/libs}"

if [[ $# -lt 1 ]]; then
  sed -n '2,21p' "$0" >&2
  exit 2
fi
if ! compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
  echo "kafka-run-class: no Kafka jars in $LIBS; run scripts/fetch-kafka.sh first (or set KAFKA_LIBS)" >&2
  exit 1
fi

class="$1"; shift
case "$class" in
  kafka-topics)            class=org.apache.kafka.tools.TopicCommand ;;
  kafka-configs)           class=org.apache.kafka.tools.ConfigCommand ;;
  kafka-console-producer)  class=org.apache.kafka.tools.ConsoleProducer ;;
  kafka-console-consumer)  class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  kafka-dump-log)          class=org.apache.kafka.tools.DumpLogSegments ;;
  kafka-get-offsets)       class=org.apache.kafka.tools.GetOffsetShell ;;
  kafka-storage)           class=kafka.tools.StorageTool ;;
  kafka-server)            class=kafka.Kafka ;;
esac

heap="${KAFKA_HEAP_OPTS:--Xmx512m}"
jvm="${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto}"
log4j="${KAFKA_LOG4J_CONFIG:-$ROOT/scripts/kafka-dist/log4j2-tools.properties}"

# shellcheck disable=SC2086  # heap/jvm are deliberately word-split option lists
exec java $heap $jvm -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="$log4j" \
  -cp "$LIBS/*" "$class" "$@"
