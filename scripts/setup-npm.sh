#!/usr/bin/env bash
# Installs the join page's npm dependencies (livekit-client, pinned in
# portal/joinpage/package-lock.json) and copies livekit-client's browser
# build into portal/joinpage/build, where the portal serves it from
# (its -assets flag). Both folders are gitignored.
# Idempotent and offline-friendly: when node_modules was installed from the
# current package-lock.json and the build copy exists, it does nothing.
set -euo pipefail
cd "$(dirname "$0")/../portal/joinpage"

say() { printf 'setup-npm: %s\n' "$*"; }
command -v npm >/dev/null || { echo "setup-npm: npm is missing; install Debian's nodejs and npm packages first" >&2; exit 1; }

stamp=node_modules/.roomkit-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
asset=node_modules/livekit-client/dist/livekit-client.umd.js

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$asset" ]; then
  say "node_modules matches package-lock.json"
else
  say "installing livekit-client (npm ci)"
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

mkdir -p build
if ! cmp -s "$asset" build/livekit-client.umd.js; then
  cp "$asset" build/livekit-client.umd.js.tmp
  mv build/livekit-client.umd.js.tmp build/livekit-client.umd.js
  say "copied livekit-client $(node -p 'require("./node_modules/livekit-client/package.json").version' 2>/dev/null || echo) into portal/joinpage/build"
fi
