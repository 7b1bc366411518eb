#!/usr/bin/env bash
# Idempotent install for the desktop smoke test: an X server without a screen (xvfb), a session bus
# (dbus, for the single-instance check), Debian's WebKitWebDriver (webkit2gtk-driver), screenshot
# tools (xwd from x11-apps, ImageMagick's convert), xdotool (keys for the native menu), and
# tauri-driver from crates.io.
set -euo pipefail

missing=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' || missing+=("$1"); }
for package in xvfb xauth dbus webkit2gtk-driver x11-apps imagemagick procps xdotool; do need_pkg "$package"; done
if [ ${#missing[@]} -gt 0 ]; then
  echo "desktop setup: apt-get install ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# tauri-driver: the WebDriver front for Tauri apps; it forwards to WebKitWebDriver on Linux.
TAURI_DRIVER_VERSION=2.0.6
if ! cargo install --list | grep -q "^tauri-driver v${TAURI_DRIVER_VERSION}:"; then
  echo "desktop setup: cargo install tauri-driver $TAURI_DRIVER_VERSION" >&2
  cargo install --quiet --locked tauri-driver --version "$TAURI_DRIVER_VERSION"
fi
