#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and run the demo (`make demo`):
# the C toolchain for cgo, Go modules, the LiveKit server and the join page's
# npm package. What only the tests, images or static kit binaries need is
# installed by scripts/setup-test.sh, setup-image.sh and setup-cross.sh.
# Idempotent: a second run installs nothing and takes a second or two.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

command -v go >/dev/null || { echo "setup: Go is missing; install Go 1.26 or newer first" >&2; exit 1; }
# build-essential and linux-libc-dev: cgo for the V4L2 and ALSA drivers;
# curl: the demo script waits for the portal with it.
apt_install curl build-essential linux-libc-dev
# The UI's fallback fonts for room names in Arabic and Hebrew (Noto Sans),
# Chinese and Japanese (Droid Sans Fallback) and Korean (NanumSquare): the
# simulated kit reads them where Debian puts them, as a real kit does.
apt_install fonts-noto-core fonts-droid-fallback fonts-nanum
# Node.js and npm fetch the join page's livekit-client; a machine that has
# them (from any source) keeps its own.
command -v npm >/dev/null || apt_install nodejs npm
# LiveKit builds outside our module (its own go.sum) while our modules
# download. It builds before our binaries, not beside them: they share
# many packages, which our build then finds compiled (measured: 277 s to
# the demo's URLs this way, 360 s with the two builds side by side).
scripts/setup-livekit.sh &
livekit=$!
say "downloading Go modules"
go mod download
scripts/setup-npm.sh
wait "$livekit" || { echo "setup: building LiveKit failed" >&2; exit 1; }
say "ready"
