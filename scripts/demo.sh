#!/usr/bin/env bash
# The demo: the portal and one simulated room kit, on loopback.
# State lives under ./data (portal: data/portal, kit: data/kit-1, update
# repository: data/ota), so stopping and starting the demo again loses
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

PORTAL_ADDR=${PORTAL_ADDR:-127.0.0.1:8080}
SCREEN_ADDR=${SCREEN_ADDR:-127.0.0.1:8081}
CONTROL_ADDR=${CONTROL_ADDR:-127.0.0.1:7444}
mkdir -p data/portal data/kit-1

# Over-the-air updates: a signed repository the portal serves at /ota/
# and the kit trusts. Made once; its offline root key stays in
# data/ota/keys/offline, as a demo may (a fleet's goes offline).
ota_portal=() ota_kit=()
if [ -x bin/roomkit-release ]; then
  if [ ! -e data/ota/metadata/1.root.json ]; then
    bin/roomkit-release init -repo data/ota >/dev/null
  fi
  ota_portal=(-ota data/ota)
  ota_kit=(-ota-root data/ota/metadata/1.root.json -ota-check 20s -ota-settle 10s)
fi

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

bin/portal -listen "$PORTAL_ADDR" -data data/portal -url "http://$PORTAL_ADDR" \
  -bootstrap-admin data/portal/demo-admin.txt "${ota_portal[@]}" &
pids+=($!)
# Wait for the portal before the kit starts, so the first screen is a code
# rather than "cannot reach the portal" (the kit would recover anyway).
for _ in $(seq 50); do
  curl -fsS "http://$PORTAL_ADDR/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

bin/roomd -portal "http://$PORTAL_ADDR" -state data/kit-1 -devices sim \
  -control "$CONTROL_ADDR" -screen "$SCREEN_ADDR" "${ota_kit[@]}" &
pids+=($!)

cat <<MSG

  RoomKit demo is running.
    Admin center:      http://$PORTAL_ADDR/admin   (credentials: data/portal/demo-admin.txt)
    Room kit's screen: http://$SCREEN_ADDR/        (click = tap)
    Kit status:        bin/roomctl -control $CONTROL_ADDR -state data/kit-1 status
  Meetings: tap Meet Now on the kit's screen (or: bin/roomctl -control $CONTROL_ADDR -state data/kit-1 meet-now),
    then open the join link it shows (http://$PORTAL_ADDR/join/<meeting ID>) in Chromium or Firefox to join as a guest.
MSG
if [ ${#ota_kit[@]} -gt 0 ]; then
  cat <<MSG
  Updates: publish a release for sim kits, then press "Update now" on the room in the admin center
    (or wait for the window, 01:00–04:00 room time):
      bin/roomkit-release sim-image -version 0.2.0 -out data/sim-0.2.0.img
      bin/roomkit-release publish -repo data/ota -image data/sim-0.2.0.img -version 0.2.0 -target sim
    The kit installs it, "reboots" into it on trial and keeps it: roomctl status shows version 0.2.0.
    A release that fails its trial (sim-image -unhealthy: its camera goes missing) rolls back by itself.
MSG
fi
cat <<MSG
  Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}"
