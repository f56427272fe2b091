#!/usr/bin/env bash
# Installs what a fresh machine lacks to build, demo and test RoomKit.
# Idempotent: a second run installs nothing and takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

need_go() {
  command -v go >/dev/null || { echo "setup: Go is missing; install Go 1.26 or newer first" >&2; exit 1; }
}

# Debian packages: Chromium drives the admin center and join page in the
# browser tests.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    $sudo apt-get update >/dev/null
    $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
  }
}

need_go
# build-essential and linux-libc-dev: cgo for the V4L2 and ALSA drivers.
apt_install chromium curl build-essential linux-libc-dev
say "downloading Go modules"
go mod download
# Node.js and npm build the guest join page's script bundle; a machine that
# has them (from any source) keeps its own.
command -v npm >/dev/null || apt_install nodejs npm
scripts/setup-livekit.sh
scripts/setup-npm.sh
say "ready"
