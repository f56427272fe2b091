#!/usr/bin/env bash
# Installs what a fresh machine lacks to build, demo and test RoomKit.
# Idempotent: a second run installs nothing and takes a second or two.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

need_go() {
  command -v go >/dev/null || { echo "setup: Go is missing; install Go 1.26 or newer first" >&2; exit 1; }
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
# Static kit binaries and the image tools (QEMU and OVMF for the boot test).
scripts/setup-cross.sh
scripts/setup-image.sh
say "ready"
