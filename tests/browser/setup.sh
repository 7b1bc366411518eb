#!/usr/bin/env bash
# Idempotent install for the studio UI and its browser tests: Debian's chromium and kcat (never a
# browser downloaded by a tool), then `npm ci` in ui/ and tests/browser/ when their lock files changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# npm ci only when node_modules is missing or older than the lock file.
for dir in "$ROOT/ui" "$ROOT/tests/browser"; do
  stamp="$dir/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
done
