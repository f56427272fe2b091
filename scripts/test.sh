#!/usr/bin/env bash
# The body of `make test` after set-up and vet: every Go test under the race
# detector, the static cross build, the test kernel's smoke boot and short
# fuzz runs, then the wall time each part took.
#
# ./images (the QEMU tests, the over-the-air update test with its power
# cuts the longest of them) takes the longest: it starts first, in the
# background, and the other parts run meanwhile, one package at a time
# (-p 1). Not more at once: with
# fuzzing and the cross build beside two emulated guests *and* another test
# package, a guest's one CPU fell so far behind that LiveKit's connection
# timeout in the kit ran out (measured 2026-12-05; docs/benchmarks.md).
set -uo pipefail
cd "$(dirname "$0")/.."
ARTIFACTS=${ARTIFACTS:-$(pwd)/artifacts}
mkdir -p "$ARTIFACTS"
export ROOMKIT_ARTIFACTS=$ARTIFACTS

times=()
failed=()
# timed NAME CMD…: runs CMD, notes its wall time and whether it failed.
timed() {
  local name=$1 start=$SECONDS
  shift
  if "$@"; then
    times+=("$name: $((SECONDS - start)) s")
  else
    times+=("$name: $((SECONDS - start)) s, FAILED")
    failed+=("$name")
  fi
}

# The QEMU tests, in the background; their output is shown when they end.
images_log=$(mktemp)
trap 'rm -f "$images_log"' EXIT
images_start=$SECONDS
go test -race -timeout 85m ./images/... >"$images_log" 2>&1 &
images_pid=$!

timed "go test -race (all but ./images)" go test -race -p 1 -timeout 60m $(go list ./... | grep -v '/images')
# The portal's suite again, on PostgreSQL (internal/pgtest) instead of SQLite.
timed "go test -race ./portal/... on PostgreSQL" env ROOMKIT_TEST_STORE=postgres go test -race -p 1 -timeout 30m ./portal/...
timed "static cross build (make cross)" make --no-print-directory cross
timed "test kernel smoke boot (smoke.sh)" images/kernel/testdevices/smoke.sh
timed "fuzzing (scripts/fuzz.sh)" scripts/fuzz.sh

wait "$images_pid"
images_rc=$?
cat "$images_log"
if [ "$images_rc" -eq 0 ]; then
  times+=("go test -race ./images/... (from the start, beside the rest): $((SECONDS - images_start)) s")
else
  times+=("go test -race ./images/... (from the start, beside the rest): $((SECONDS - images_start)) s, FAILED")
  failed+=("go test ./images/...")
fi

echo
echo "make test, wall time per part:"
printf '  %s\n' "${times[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "make test FAILED: ${failed[*]}"
  exit 1
fi
