#!/usr/bin/env bash
# Runs every fuzz target in the module briefly (FUZZTIME, default 5s), so
# `make test` exercises the parsers with new inputs on every run. The seed
# corpora run anyway as part of `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
status=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    printf 'fuzz %-40s %s\n' "$pkg" "$target"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/roomkit-fuzz.log 2>&1 || {
      status=1; tail -30 /tmp/roomkit-fuzz.log
    }
  done
done
exit $status
