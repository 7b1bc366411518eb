#!/usr/bin/env bash
# Fetch Apache Kafka (server + tools, 4.x) from Maven Central into .cache/kafka/libs/*.jar.
# Idempotent: does nothing when the jars for the current scripts/kafka-dist/pom.xml are already there.
# Usage: scripts/fetch-kafka.sh [--force]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/scripts/kafka-dist/pom.xml"
DEST="$ROOT/.cache/kafka"
LIBS="$DEST/libs"
STAMP="$DEST/.pom.sha256"

want="$(sha256sum "$POM" | cut -d' ' -f1)"
if [[ "${1:-}" != "--force" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] \
   && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
  exit 0
fi

# One fetch at a time (the tests and the bench may both call this); re-check once the lock is ours.
mkdir -p "$DEST"
exec 9>"$DEST/.lock"
flock 9
if [[ "${1:-}" != "--force" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] \
   && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
  exit 0
fi

command -v mvn >/dev/null || { echo "fetch-kafka: mvn not found (apt-get install maven)" >&2; exit 1; }
command -v java >/dev/null || { echo "fetch-kafka: java not found (apt-get install default-jdk-headless)" >&2; exit 1; }

echo "fetch-kafka: resolving Apache Kafka jars from Maven Central into .cache/kafka/libs" >&2
tmp="$DEST/libs.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
# (Debian's Maven prints bare ANSI resets even in batch mode: strip them.)
mvn -B -q -f "$POM" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' >&2
rm -rf "$LIBS"
mv "$tmp" "$LIBS"
echo "$want" > "$STAMP"
version="$(ls "$LIBS" | sed -n 's/^kafka_2\.13-\(.*\)\.jar$/\1/p')"
echo "fetch-kafka: Apache Kafka $version ready ($(ls "$LIBS" | wc -l) jars)" >&2
