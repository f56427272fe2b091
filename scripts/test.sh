#!/usr/bin/env bash
# The body of `make test` after set-up and vet: every Go test under the race
# detector, the static cross build, the test kernel's smoke boot and short
# fuzz runs, with the time each took.
#
# While the side jobs run, the last lines of go test's output are not the
# end of the log: the summary below is, and the exit status tells.
#
# The cross build, the smoke boot and the fuzzing run beside `go test`:
# QEMU's emulated CPU is one thread, and while the QEMU tests of ./images
# boot their guests (most of the run) a core is often idle. Their output
# goes to $ARTIFACTS/cross.log, smoke.log and fuzz.log and is shown when
# they fail.
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

side() {
  timed "static cross build (make cross)" make --no-print-directory cross >"$ARTIFACTS/cross.log" 2>&1
  timed "test kernel smoke boot (smoke.sh)" images/kernel/testdevices/smoke.sh >"$ARTIFACTS/smoke.log" 2>&1
  timed "fuzzing (scripts/fuzz.sh)" scripts/fuzz.sh >"$ARTIFACTS/fuzz.log" 2>&1
  printf '%s\n' "${times[@]}" >"$ARTIFACTS/side.times"
  [ ${#failed[@]} -eq 0 ]
}
side &
sidepid=$!

timed "go test -race ./..." go test -race -timeout 30m ./...

if ! wait "$sidepid"; then
  failed+=("cross build, smoke boot or fuzzing")
  for log in cross smoke fuzz; do
    echo "--- $ARTIFACTS/$log.log (last 40 lines)"
    tail -n 40 "$ARTIFACTS/$log.log"
  done
fi
echo
tail -n 1 "$ARTIFACTS/fuzz.log"
echo "make test, wall time per part (the first three ran beside go test):"
cat "$ARTIFACTS/side.times" 2>/dev/null | sed 's/^/  /'
printf '  %s\n' "${times[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "make test FAILED: ${failed[*]}"
  exit 1
fi
