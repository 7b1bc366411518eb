#!/usr/bin/env bash
# Installs what building Oxbow needs on Debian 12, only when missing. Idempotent and quiet when satisfied.
set -euo pipefail

need_rust_minor=90
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: Rust is not installed. Install it with rustup (https://rustup.rs), 1.${need_rust_minor} or newer, then rerun." >&2
  exit 1
fi
rust_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if [ "${rust_minor}" -lt "${need_rust_minor}" ]; then
  echo "setup: rustc $(rustc --version) is too old; Oxbow needs 1.${need_rust_minor} or newer (rustup update)." >&2
  exit 1
fi

# Debian packages the build needs: a C toolchain and cmake for the bundled librdkafka, pkg-config,
# OpenSSL for TLS connection profiles, fonts for the benchmark chart, and for the desktop app
# (Tauri 2 on Linux) WebKitGTK 4.1, librsvg (icons) and libxdo (menu accelerators).
packages=(build-essential cmake pkg-config zlib1g-dev libssl-dev fonts-dejavu-core
  libwebkit2gtk-4.1-dev librsvg2-dev libxdo-dev file)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q "install ok installed" || missing+=("${package}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The studio UI (ui/) is built with Node.js and npm, then embedded in the oxbow binary.
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing Debian packages: nodejs npm"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# npm ci only when node_modules is missing or older than the lock file.
stamp="${root}/ui/node_modules/.package-lock.json"
if [ ! -f "${stamp}" ] || [ "${root}/ui/package-lock.json" -nt "${stamp}" ]; then
  (cd "${root}/ui" && npm ci --no-audit --no-fund --loglevel=error)
fi
