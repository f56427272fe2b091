#!/usr/bin/env bash
# The body of `make test` after set-up and vet: every Go test under the race
# detector (the two QEMU boot tests of ./images side by side), the static
# cross build, the test kernel's smoke boot and short fuzz runs, then the
# wall time each part took.
#
# The parts after go test run after it, not beside it: with fuzzing and the
# cross build beside two emulated guests, a guest's one CPU fell so far
# behind that LiveKit's connection timeout in the kit ran out (measured
# 2026-12-05; docs/benchmarks.md).
#
# ./images takes the longest: its over-the-air update test boots a kit about
# twenty times (power cuts included), beside the other QEMU tests; hence
# go test's 60-minute timeout.
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

timed "go test -race ./..." go test -race -timeout 60m ./...
timed "static cross build (make cross)" make --no-print-directory cross
timed "test kernel smoke boot (smoke.sh)" images/kernel/testdevices/smoke.sh
timed "fuzzing (scripts/fuzz.sh)" scripts/fuzz.sh

echo
echo "make test, wall time per part:"
printf '  %s\n' "${times[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "make test FAILED: ${failed[*]}"
  exit 1
fi
