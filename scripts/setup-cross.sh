#!/usr/bin/env bash
# Sets up the static cgo toolchain for kit binaries (scripts/build-static.sh):
# the aarch64 cross compiler and a static libasound.a for amd64 and arm64,
# built from Debian's alsa-lib source into .tools/alsa/<arch>/ (gitignored).
#
# Why: gokrazy has no libc, so roomd is linked statically, and malgo's
# default dlopen of libasound.so crashes a static binary. miniaudio is built
# with MA_NO_RUNTIME_LINKING instead and linked against this libasound.a.
#
# Idempotent: when both libraries are built for the pinned source version it
# only checks the Debian packages and exits.
#
# Layout afterwards, per arch (amd64, arm64):
#   .tools/alsa/<arch>/usr/include/alsa/…   headers for CGO_CFLAGS
#   .tools/alsa/<arch>/usr/lib/libasound.a  the library for CGO_LDFLAGS
#   .tools/alsa/<arch>/usr/share/alsa/      alsa.conf and the card profiles:
#       libasound reads them at run time from /usr/share/alsa, so the kit's
#       image must ship this directory there (it is the same for both arches).
set -euo pipefail
cd "$(dirname "$0")/.."

root=$(pwd)
tools="$root/.tools/alsa"
src="$tools/src"
arches=(amd64 arm64)

say() { printf 'setup-cross: %s\n' "$*"; }
die() { printf 'setup-cross: %s\n' "$*" >&2; exit 1; }

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

. scripts/apt.sh # after the cd above

# triplet maps a Go arch to the GNU triplet its C compiler is named after.
triplet() {
  case "$1" in
    amd64) echo x86_64-linux-gnu ;;
    arm64) echo aarch64-linux-gnu ;;
    *) die "unsupported arch $1" ;;
  esac
}

host_arch=$(dpkg --print-architecture)

# The compilers: the host's own gcc/g++ and cross ones for the other arch
# (g++ because openh264 is C++ and cgo links with $CXX); the cross package
# brings the target's static libc (libc.a) as well.
pkgs=(gcc g++ make dpkg-dev libc6-dev)
for a in "${arches[@]}"; do
  if [ "$a" != "$host_arch" ]; then
    # The cross libc is only recommended by the compiler package.
    pkgs+=("gcc-$(triplet "$a" | tr _ -)" "g++-$(triplet "$a" | tr _ -)" "libc6-dev-$a-cross")
  fi
done
apt_install "${pkgs[@]}"

# The alsa-lib source version behind Debian's libasound2 here (a binNMU such
# as 1.2.8-1+b1 names its source in "Source: alsa-lib (1.2.8-1)"); the build
# is redone when it changes.
fields=$(apt-cache show --no-all-versions libasound2 2>/dev/null || true)
version=$(printf '%s\n' "$fields" | sed -n 's/^Source: alsa-lib (\(.*\))$/\1/p' | head -n1)
[ -n "$version" ] || version=$(printf '%s\n' "$fields" | sed -n 's/^Version: //p' | head -n1)
[ -n "$version" ] || die "apt-cache does not know libasound2; run apt-get update"

built() { [ -f "$tools/$1/usr/lib/libasound.a" ] && [ "$(cat "$tools/$1/.version" 2>/dev/null)" = "$version" ]; }

todo=()
for a in "${arches[@]}"; do
  built "$a" || todo+=("$a")
done
if [ ${#todo[@]} -eq 0 ]; then
  say "static libasound $version already built in .tools/alsa/{$(IFS=,; echo "${arches[*]}")}"
  exit 0
fi

# apt-get source needs deb-src entries. Debian images often have none: add
# them for the same mirrors, suites and keys as the existing deb entries, in
# a file of our own, and only when no deb-src entry exists at all.
has_deb_src() {
  grep -qsE '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
}
if ! has_deb_src; then
  list=/etc/apt/sources.list.d/roomkit-deb-src.sources
  tmp=$(mktemp)
  for f in /etc/apt/sources.list.d/*.sources; do
    if [ -f "$f" ]; then
      sed -E 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb-src/' "$f" >>"$tmp"
      echo >>"$tmp"
    fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    if [ -f "$f" ]; then
      sed -nE 's/^[[:space:]]*deb[[:space:]]+/deb-src /p' "$f" >>"${tmp}.list"
    fi
  done
  if grep -q '^Types: deb-src' "$tmp"; then
    say "enabling source packages in $list"
    $sudo install -m 0644 "$tmp" "$list"
  fi
  if [ -s "${tmp}.list" ]; then
    say "enabling source packages in ${list%.sources}.list"
    $sudo install -m 0644 "${tmp}.list" "${list%.sources}.list"
  fi
  rm -f "$tmp" "${tmp}.list"
  has_deb_src || die "found no deb entries to derive deb-src entries from; add a deb-src line for alsa-lib by hand"
  $sudo apt-get update >/dev/null
fi

start=$(date +%s)
upstream=${version#*:}
upstream=${upstream%-*}
tree="$src/alsa-lib-$upstream"
if [ ! -f "$tree/configure" ]; then
  say "fetching the alsa-lib $version source"
  rm -rf "$src"
  mkdir -p "$src"
  # --download-only would skip unpacking; dpkg-source unpacks and applies
  # Debian's patches, which is what their libasound2 is built from.
  (cd "$src" && apt-get source -q "alsa-lib=$version" >/dev/null 2>"$src/apt-get-source.log") ||
    { cat "$src/apt-get-source.log" >&2; die "apt-get source alsa-lib failed"; }
  [ -f "$tree/configure" ] || die "no configure script in $tree"
fi

jobs=$(nproc 2>/dev/null || echo 2)
for a in "${todo[@]}"; do
  t=$(triplet "$a")
  cc="$t-gcc"
  command -v "$cc" >/dev/null || die "$cc is missing"
  hostflag=()
  [ "$a" != "$host_arch" ] && hostflag=(--host="$t")
  say "building static libasound for $a (about a minute)"
  b="$src/build-$a"
  rm -rf "$b" "$tools/$a"
  mkdir -p "$b"
  # prefix /usr: libasound looks for its configuration in
  # $prefix/share/alsa at run time, and the image ships it in /usr/share/alsa.
  # No libdl: plugins cannot be dlopened in a static binary, and alisp,
  # topology and python are not needed to play and record.
  (cd "$b" && CC="$cc" "$tree/configure" "${hostflag[@]}" --prefix=/usr \
      --enable-static --disable-shared --without-libdl \
      --disable-python --disable-topology --disable-alisp >"$b/configure.log" 2>&1) ||
    { tail -n 30 "$b/configure.log" >&2; die "configure for $a failed (log: $b/configure.log)"; }
  (cd "$b" && make -j"$jobs" >"$b/make.log" 2>&1 && make install DESTDIR="$tools/$a" >>"$b/make.log" 2>&1) ||
    { tail -n 30 "$b/make.log" >&2; die "build for $a failed (log: $b/make.log)"; }
  [ -f "$tools/$a/usr/lib/libasound.a" ] || die "no libasound.a for $a after make install"
  echo "$version" >"$tools/$a/.version"
done
say "built static libasound $version for ${todo[*]} in $(( $(date +%s) - start ))s"
say "the image must ship .tools/alsa/<arch>/usr/share/alsa as /usr/share/alsa"
