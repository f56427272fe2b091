#!/usr/bin/env bash
# The fleet simulator against a throw-away portal on loopback (SQLite,
# a fresh data directory): builds both, starts the portal, makes an admin
# API token, runs bench/fleet with the arguments given and prints its
# table, then stops the portal and removes its data.
#
#   bench/fleet.sh -kits 1000 -duration 20s          # sustained, as fast as the portal goes
#   bench/fleet.sh -kits 100 -replay 24h             # a day of heartbeats and events
#   PORTAL_ARGS='-livekit dev' bench/fleet.sh …      # with meetings (a local livekit-server)
#   NICE=19 bench/fleet.sh …                         # on a machine other work needs
#
# Two replicas on a throw-away PostgreSQL: bench/fleet-pg.sh. Against
# portals already running, run the simulator itself:
# go run ./bench/fleet -portal URL,URL -token rka_… …
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
NICE=${NICE:-0}
PORTAL_ADDR=${PORTAL_ADDR:-127.0.0.1:18080}
PORTAL_ARGS=${PORTAL_ARGS:--livekit off}

work=$(mktemp -d "${TMPDIR:-/tmp}/roomkit-fleet.XXXXXX")
portal_pid=
cleanup() {
  if [ -n "$portal_pid" ]; then kill "$portal_pid" 2>/dev/null || true; wait "$portal_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

nice -n "$NICE" "$GO" build -o "$work/" ./cmd/portal ./bench/fleet
"$work/portal" token create -data "$work/data" -name fleet-bench >"$work/token"
# shellcheck disable=SC2086 # PORTAL_ARGS is words on purpose
nice -n "$NICE" "$work/portal" -listen "$PORTAL_ADDR" -data "$work/data" $PORTAL_ARGS >"$work/portal.log" 2>&1 &
portal_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://$PORTAL_ADDR/healthz" >/dev/null 2>&1 && break
  kill -0 "$portal_pid" 2>/dev/null || { cat "$work/portal.log" >&2; exit 1; }
  sleep 0.1
done
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')" >&2
nice -n "$NICE" "$work/fleet" -portal "http://$PORTAL_ADDR" -token "$(head -n1 "$work/token")" \
  -portal-pid "$portal_pid" -portal-data "$work/data" "$@"
