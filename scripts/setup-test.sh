#!/usr/bin/env bash
# Installs what `make test` needs on top of the demo's set-up (which has the
# UI's fallback fonts the ui and images tests draw with): Chromium for
# the browser tests, the static cgo toolchain (setup-cross.sh) and the image
# and QEMU tools (setup-image.sh). Idempotent.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
cd "$(dirname "$0")/.."

say() { printf 'setup-test: %s\n' "$*"; }

scripts/setup.sh
# chromium: the admin center's and join page's browser tests.
apt_install chromium
# postgresql: the throw-away PostgreSQL the portal's tests also run on
# (internal/pgtest starts its own cluster; the package's own cluster is
# not needed, so it is not started here). redis-server: the LiveKit
# cluster's test (systemtest), which runs its own on loopback.
apt_install postgresql redis-server
scripts/setup-image.sh
scripts/setup-cross.sh
say "ready"
