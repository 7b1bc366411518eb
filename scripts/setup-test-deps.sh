#!/usr/bin/env bash
# Install everything the end-to-end tests (tests/e2e) need on a Debian 12 machine. Idempotent and quick
# when all is already there: each step checks before it installs.
#   - Debian packages: kcat, librdkafka-dev, python3-venv, a JDK, Maven, Node.js + npm
#   - .venv/ (repo root): pytest, confluent-kafka, kafka-python and its compression codecs
#   - tests/e2e/node/node_modules: kafkajs (from package-lock.json)
#   - tests/e2e/java: the Java client test program (kafka-clients 4.x), built with Maven
#   - .cache/kafka/libs: Apache Kafka 4.x server and tools (scripts/fetch-kafka.sh)
# Usage: scripts/setup-test-deps.sh [--force]   (--force redoes the pip, npm, Maven and Kafka steps)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

log() { echo "setup-test-deps: $*" >&2; }
stamp_ok() { [[ "$FORCE" == 0 && -f "$1" && "$(cat "$1")" == "$2" ]]; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# ---- Debian packages -------------------------------------------------------------------------
missing=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' || missing+=("$1"); }
need_pkg kcat
need_pkg librdkafka-dev
need_pkg python3-venv
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [[ ${#missing[@]} -gt 0 ]]; then
  log "apt-get install ${missing[*]}"
  SUDO=""; [[ "$(id -u)" == 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ---- Python venv -----------------------------------------------------------------------------
REQ="$ROOT/tests/e2e/requirements.txt"
if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv"
  python3 -m venv .venv
fi
want="$(hash_of "$REQ")"
if ! stamp_ok .venv/.e2e-requirements.sha256 "$want"; then
  log "pip install -r tests/e2e/requirements.txt"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$REQ"
  echo "$want" > .venv/.e2e-requirements.sha256
fi

# ---- Node: kafkajs ---------------------------------------------------------------------------
NODE_DIR="$ROOT/tests/e2e/node"
want="$(hash_of "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json")"
if ! stamp_ok "$NODE_DIR/node_modules/.e2e-lock.sha256" "$want"; then
  log "npm ci in tests/e2e/node"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$NODE_DIR/node_modules/.e2e-lock.sha256"
fi

# ---- Java client test program ----------------------------------------------------------------
JAVA_DIR="$ROOT/tests/e2e/java"
want="$(find "$JAVA_DIR/pom.xml" "$JAVA_DIR/src" -type f | LC_ALL=C sort | xargs cat | sha256sum | cut -d' ' -f1)"
if ! stamp_ok "$JAVA_DIR/target/.e2e-build.sha256" "$want" || [[ ! -f "$JAVA_DIR/target/classpath.txt" ]]; then
  log "building tests/e2e/java with Maven"
  mvn -B -q -f "$JAVA_DIR/pom.xml" package dependency:build-classpath \
    -DskipTests -Dmdep.outputFile=target/classpath.txt 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' >&2
  echo "$want" > "$JAVA_DIR/target/.e2e-build.sha256"
fi

# ---- Apache Kafka (tools for the tests, and the differential target) ---------------------------
if [[ "$FORCE" == 1 ]]; then "$ROOT/scripts/fetch-kafka.sh" --force; else "$ROOT/scripts/fetch-kafka.sh"; fi

log "ok"
