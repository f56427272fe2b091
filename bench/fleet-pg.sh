#!/usr/bin/env bash
# The fleet simulator against two portal replicas sharing one throw-away
# PostgreSQL, all on loopback: makes a cluster with Debian's initdb in a
# temporary directory (a unix socket there, no TCP port; durable
# settings, as a deployment would run it), builds the portal and the
# simulator, starts two portals on the database (-db), makes an admin API
# token, runs bench/fleet across both (-portal A,B: every request to the
# next replica, no stickiness) with the arguments given, prints its table
# and the database's size, then stops everything and removes it.
#
#   bench/fleet-pg.sh -kits 1000 -duration 20s        # sustained, as fast as the portals go
#   bench/fleet-pg.sh -kits 100 -replay 24h           # a day of heartbeats and events
#   NICE=19 bench/fleet-pg.sh …                       # on a machine other work needs
#   make bench-fleet-pg ARGS='-kits 10000 -duration 60s'
#
# Under root PostgreSQL runs as the postgres user (it refuses root), as
# internal/pgtest does. PG_BIN names the server's bin directory (default:
# the newest /usr/lib/postgresql/N/bin; scripts/setup-test.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
NICE=${NICE:-0}
PORTAL_A=${PORTAL_A:-127.0.0.1:18081}
PORTAL_B=${PORTAL_B:-127.0.0.1:18082}
PORTAL_ARGS=${PORTAL_ARGS:--livekit off}
PG_ARGS=${PG_ARGS:-}   # more -c name=value for postgres

if [ -z "${PG_BIN:-}" ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -n1)
fi
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/postgres" ]; then
  echo "fleet-pg: PostgreSQL's server is not installed (Debian's postgresql; scripts/setup-test.sh installs it)" >&2
  exit 1
fi

# A short path: the socket's must fit in 107 bytes.
work=$(mktemp -d /tmp/roomkit-fleet-pg.XXXXXX)
chmod 755 "$work"
mkdir "$work/pg"
as_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "fleet-pg: running as root, and there is no postgres user to run PostgreSQL as" >&2; exit 1; }
  chown postgres: "$work/pg"
  as_pg() { runuser -u postgres -- "$@"; }
fi
pids=()
pg_started=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$pg_started" ]; then as_pg "$PG_BIN/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

as_pg "$PG_BIN/initdb" -D "$work/pg/data" -U roomkit --auth=trust --encoding=UTF8 --locale=C >"$work/initdb.log" 2>&1 ||
  { cat "$work/initdb.log" >&2; exit 1; }
# Two portals hold at most 16 connections each; the tools a few more.
# shellcheck disable=SC2086 # PG_ARGS is words on purpose
as_pg nice -n "$NICE" "$PG_BIN/pg_ctl" -D "$work/pg/data" -l "$work/pg/postgres.log" -w \
  -o "-k $work/pg -c listen_addresses= -c max_connections=50 $PG_ARGS" start >/dev/null ||
  { cat "$work/pg/postgres.log" >&2; exit 1; }
pg_started=1
"$PG_BIN/createdb" -h "$work/pg" -U roomkit roomkit
dsn="postgres://roomkit@/roomkit?host=$work/pg&sslmode=disable"

nice -n "$NICE" "$GO" build -o "$work/" ./cmd/portal ./bench/fleet
"$work/portal" migrate -db "$dsn" >/dev/null
"$work/portal" token create -db "$dsn" -name fleet-bench >"$work/token" 2>/dev/null
# Both replicas answer for one public URL, as behind a load balancer:
# a kit's client assertion names the token endpoint it discovered, and
# whichever replica gets the poll checks it against its own -url.
for addr in "$PORTAL_A" "$PORTAL_B"; do
  # shellcheck disable=SC2086 # PORTAL_ARGS is words on purpose
  nice -n "$NICE" "$work/portal" -listen "$addr" -url "http://$PORTAL_A" -db "$dsn" $PORTAL_ARGS >"$work/portal-${addr##*:}.log" 2>&1 &
  pids+=($!)
done
for i in 0 1; do
  addr=$([ $i = 0 ] && echo "$PORTAL_A" || echo "$PORTAL_B")
  for _ in $(seq 300); do
    curl -fsS "http://$addr/healthz" >/dev/null 2>&1 && break
    kill -0 "${pids[$i]}" 2>/dev/null || { cat "$work/portal-${addr##*:}.log" >&2; exit 1; }
    sleep 0.1
  done
done
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC'); PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), two portals" >&2
# Memory is replica A's (-portal-pid takes one process). CPU is charged
# to each portal, PostgreSQL (the postmaster and its backends) and the
# simulator, with what the rest of the machine used beside them.
status=0
pg_pid=$(head -n1 "$work/pg/data/postmaster.pid")
nice -n "$NICE" "$work/fleet" -portal "http://$PORTAL_A,http://$PORTAL_B" -token "$(head -n1 "$work/token")" \
  -portal-pid "${pids[0]}" -cpu-pids "portal A=${pids[0]},portal B=${pids[1]},PostgreSQL=$pg_pid" "$@" || status=$?
echo "(measured now: after the simulator's clean-up, which unpairs its kits unless -cleanup=false)"
size() { "$PG_BIN/psql" -h "$work/pg" -U roomkit -d roomkit -XAtc "$1"; }
echo "PostgreSQL database roomkit: $(size "SELECT pg_size_pretty(pg_database_size('roomkit'))") ($(size "SELECT pg_database_size('roomkit')") bytes); largest tables:"
size "SELECT '  ' || relname || ' ' || pg_size_pretty(pg_total_relation_size(relid)) || ', ' || n_live_tup || ' rows' FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC LIMIT 5"
exit "$status"
