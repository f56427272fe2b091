#!/usr/bin/env bash
# Runs every fuzz target in the module briefly (FUZZTIME, default 5s), so
# `make test` exercises the parsers with new inputs on every run. The seed
# corpora run anyway as part of `go test`.
#
# A target fails only when the fuzzer found something: it then writes the
# input to testdata/fuzz/ and says "Failing input written to". Go 1.26's
# fuzz coordinator can also report a bare "context deadline exceeded" when
# -fuzztime ends while a worker is busy on a loaded machine (go.dev/issue/75804,
# fixed in Go 1.27); that is reported as a flake, not a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0 flaked=0
# The targets, found in the test files (go test -list would build every
# package's test binary just to list them).
for dir in $(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | xargs -n1 dirname | sort -u); do
  pkg=./$dir
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
    printf 'fuzz %-40s %s\n' "$pkg" "$target"
    if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
      continue
    fi
    if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written to\|panic:' "$log"; then
      flaked=$((flaked + 1))
      echo "  flake: the fuzz coordinator's deadline race (go.dev/issue/75804); no failing input"
    else
      failed=$((failed + 1))
      tail -30 "$log"
    fi
  done
done
echo "fuzz: $failed failed, $flaked deadline flakes"
[ "$failed" -eq 0 ]
