#!/usr/bin/env bash
# Builds the LiveKit server the portal supervises in the demo and in tests,
# into .tools/livekit-server at the repository root (gitignored).
# Idempotent: when .tools/livekit-server already reports the pinned version,
# it does nothing. The first build takes a few minutes; Go's build cache
# makes later rebuilds fast.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: later versions carry replace directives or dependencies the module
# proxy refuses (docs in /work/shared/DESIGN.md, "What was found true here").
VERSION=1.13.5
root=$(pwd)
tools="$root/.tools"
bin="$tools/livekit-server"

say() { printf 'setup-livekit: %s\n' "$*"; }

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$VERSION"; then
  say "livekit-server $VERSION already in .tools"
  exit 0
fi

command -v go >/dev/null || { echo "setup-livekit: Go is missing; install Go 1.26 or newer first" >&2; exit 1; }
mkdir -p "$tools"
say "building livekit-server $VERSION (a few minutes the first time)"
start=$(date +%s)
# Outside the module: go install pkg@version ignores our go.mod and builds
# LiveKit with exactly the dependencies it pins.
(cd "$tools" && GOBIN="$tools" GOFLAGS=-buildvcs=false go install "github.com/livekit/livekit-server/cmd/server@v$VERSION")
mv -f "$tools/server" "$bin"
"$bin" --version | grep -q "$VERSION" || { echo "setup-livekit: $bin does not report version $VERSION" >&2; exit 1; }
say "built $bin in $(( $(date +%s) - start ))s"
