#!/bin/bash
# Builds RoomKit's test kernel: Debian's linux-source-6.12, configured as
# gokrazy's shipped amd64 kernel plus fragments/*.config (vivid, snd-aloop,
# snd-dummy, snd-usb-audio, hid-multitouch, uinput, uhid, all built in).
#
#   build.sh            build and write vmlinuz, config, VERSION, SHA256SUMS
#                       into this directory (the committed kernel package)
#   build.sh check      build in the scratch directory only and say whether
#                       the result is bit-for-bit identical to the committed
#                       vmlinuz and config (exit 1 if not): `make test-kernel`
#
# Options (environment):
#   SCRATCH=DIR         where the source is unpacked and built
#                       (default ${TMPDIR:-/tmp}/roomkit-testkernel); never
#                       inside the repository
#   INCREMENTAL=1       reuse an earlier unpacked source and build directory
#                       (a one-option change rebuilds in about a minute);
#                       the default is a cold build from a fresh unpack
#   JOBS=N              parallel jobs (default: nproc)
#
# Why each pin exists: the kernel embeds its build user, host, time and build
# number, so KBUILD_BUILD_* are fixed (the time is the Debian upload's
# changelog date); source paths would end up in WARN()/BUG() strings, so they
# are mapped away; the compiler version ends up in the image, so it is
# recorded in VERSION and compared by check.
set -euo pipefail

# The inputs. Bump these together, rebuild, commit the new package.
SRC_PKG=linux-source-6.12
SRC_VERSION=6.12.117-1~deb12u1
BASE_MODULE=github.com/gokrazy/kernel.amd64
BASE_VERSION=v0.0.0-20260705070735-de680abf072b

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODE=${1:-build}
case "$MODE" in
build | check) ;;
*)
	echo "usage: $0 [build|check]" >&2
	exit 2
	;;
esac
SCRATCH=${SCRATCH:-${TMPDIR:-/tmp}/roomkit-testkernel}
JOBS=${JOBS:-$(nproc)}
export LC_ALL=C TZ=UTC

die() {
	echo "build.sh: $*" >&2
	exit 1
}

case "$SCRATCH/" in
"$(cd "$HERE/../../.." && pwd)"/*) die "SCRATCH=$SCRATCH is inside the repository; pick a directory outside it" ;;
esac

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root to run: $*"
	fi
}

installed_version() {
	dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
		awk '$1 == "install" && $3 == "installed" { print $4 }'
}

# Debian 12 ships linux-source-6.12 through its security suite; older point
# releases only had it in backports. Enable backports only if apt has no
# candidate and no backports entry exists yet, reusing the mirror the system
# already uses for its main suite.
enable_backports_if_needed() {
	if apt-cache policy "$SRC_PKG" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		return
	fi
	if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		as_root apt-get update -q
		return
	fi
	local uri
	uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	if [ -z "$uri" ]; then
		uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
	fi
	[ -n "$uri" ] || die "no $SRC_PKG candidate and no Debian mirror configured to add bookworm-backports from"
	echo "build.sh: enabling bookworm-backports from $uri" >&2
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" |
		as_root tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
	as_root apt-get update -q
}

install_deps() {
	local want=() p
	for p in build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils zstd dpkg-dev; do
		[ -n "$(installed_version "$p")" ] || want+=("$p")
	done
	if [ "$(installed_version "$SRC_PKG")" != "$SRC_VERSION" ]; then
		enable_backports_if_needed
		if ! apt-cache madison "$SRC_PKG" | awk '{ print $3 }' | grep -qxF "$SRC_VERSION"; then
			die "$SRC_PKG $SRC_VERSION is not available from apt (have: $(apt-cache madison "$SRC_PKG" | awk '{ print $3 }' | tr '\n' ' ')); bump SRC_VERSION in $0 and rebuild the package"
		fi
		want+=("$SRC_PKG=$SRC_VERSION")
	fi
	if [ ${#want[@]} -gt 0 ]; then
		echo "build.sh: installing ${want[*]}" >&2
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --allow-downgrades "${want[@]}"
	fi
}

# base_config writes gokrazy's shipped config, read back out of its vmlinuz.
base_config() {
	local dir
	dir=$(cd "$SCRATCH" && GOFLAGS=-mod=mod go mod download -json "$BASE_MODULE@$BASE_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] && [ -f "$dir/vmlinuz" ] || die "go mod download $BASE_MODULE@$BASE_VERSION gave no vmlinuz"
	"$SRC/scripts/extract-ikconfig" "$dir/vmlinuz" >"$1" || die "extract-ikconfig $dir/vmlinuz failed"
}

# verify_config fails, naming every option, unless each CONFIG_X=y in the
# fragments is =y in .config and each "# CONFIG_X is not set" is absent.
verify_config() {
	local cfg=$1 bad=() line sym
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=y)
			grep -qxF "$line" "$cfg" || bad+=("${line%%=*} wanted =y, got: $(grep -E "^(# )?${line%%=*}[= ]" "$cfg" || echo 'absent (dependency missing?)')")
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			if grep -qE "^$sym=" "$cfg"; then
				bad+=("$sym wanted off, got: $(grep -E "^$sym=" "$cfg")")
			fi
			;;
		esac
	done < <(cat "$HERE"/fragments/*.config)
	if grep -qE '^CONFIG_[A-Z0-9_]+=m$' "$cfg"; then
		bad+=("modules left in the config: $(grep -E '=m$' "$cfg" | tr '\n' ' ')")
	fi
	if [ ${#bad[@]} -gt 0 ]; then
		printf 'build.sh: %s\n' "${bad[@]}" >&2
		die "${#bad[@]} option(s) did not end up as the fragments ask"
	fi
}

install_deps
mkdir -p "$SCRATCH"
SRC=$SCRATCH/linux-source-6.12
OUT=$SCRATCH/build
STAMP=$SCRATCH/unpacked-$SRC_VERSION

start=$(date +%s)
if [ "${INCREMENTAL:-}" != 1 ] || [ ! -e "$STAMP" ]; then
	rm -rf "$SRC" "$OUT" "$SCRATCH"/unpacked-*
	echo "build.sh: unpacking /usr/src/$SRC_PKG.tar.xz into $SCRATCH" >&2
	tar -C "$SCRATCH" -xf "/usr/src/$SRC_PKG.tar.xz"
	touch "$STAMP"
fi
mkdir -p "$OUT"

base_config "$SCRATCH/gokrazy-amd64.config"
(cd "$SRC" && scripts/kconfig/merge_config.sh -m -O "$OUT" "$SCRATCH/gokrazy-amd64.config" "$HERE"/fragments/*.config) >"$SCRATCH/merge.log" ||
	die "merge_config.sh failed; see $SCRATCH/merge.log"

# (Unpacked first: dpkg-parsechangelog stops reading early, and zcat's
# SIGPIPE would end this script under pipefail.)
zcat "/usr/share/doc/$SRC_PKG/changelog.Debian.gz" >"$SCRATCH/changelog.Debian"
TIMESTAMP=$(dpkg-parsechangelog -l "$SCRATCH/changelog.Debian" -S Date)
MAKEFLAGS_PINNED=(
	-C "$SRC" O="$OUT"
	KBUILD_BUILD_USER=roomkit
	KBUILD_BUILD_HOST=roomkit
	KBUILD_BUILD_TIMESTAMP="$TIMESTAMP"
	KBUILD_BUILD_VERSION=1
	KCFLAGS="-ffile-prefix-map=$SRC/= -ffile-prefix-map=$OUT/="
)
make -s "${MAKEFLAGS_PINNED[@]}" olddefconfig
verify_config "$OUT/.config"

echo "build.sh: building bzImage with $JOBS jobs (about 13 minutes cold on 2 cores)" >&2
make -s "${MAKEFLAGS_PINNED[@]}" -j"$JOBS" bzImage
elapsed=$(($(date +%s) - start))

KVER=$(make -s "${MAKEFLAGS_PINNED[@]}" kernelrelease)
CC_TEXT=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$OUT/.config")
BASE_LINUX=$(sed -n 's/^# Linux\/x86 \(.*\) Kernel Configuration$/\1/p' "$SCRATCH/gokrazy-amd64.config")
BZ=$OUT/arch/x86/boot/bzImage
cat >"$SCRATCH/VERSION" <<EOF
kernel: $KVER
source: Debian linux $SRC_VERSION (binary package $SRC_PKG)
base config: $BASE_MODULE@$BASE_VERSION (its Linux $BASE_LINUX config)
compiler: $CC_TEXT
build timestamp: $TIMESTAMP
EOF
echo "build.sh: built $KVER in ${elapsed}s: $(stat -c %s "$BZ") bytes, sha256 $(sha256sum "$BZ" | cut -d' ' -f1)" >&2

if [ "$MODE" = build ]; then
	install -m 0644 "$BZ" "$HERE/vmlinuz"
	install -m 0644 "$OUT/.config" "$HERE/config"
	install -m 0644 "$SCRATCH/VERSION" "$HERE/VERSION"
	(cd "$HERE" && sha256sum vmlinuz config >SHA256SUMS)
	echo "build.sh: wrote vmlinuz, config, VERSION, SHA256SUMS in $HERE" >&2
	exit 0
fi

# check: compare with the committed package.
(cd "$HERE" && sha256sum --quiet -c SHA256SUMS) || die "the committed vmlinuz/config do not match their SHA256SUMS"
if ! cmp -s "$SCRATCH/VERSION" "$HERE/VERSION"; then
	echo "build.sh: inputs differ from the committed build (a differing compiler alone changes the image):" >&2
	diff "$HERE/VERSION" "$SCRATCH/VERSION" >&2 || true
fi
status=0
if cmp -s "$OUT/.config" "$HERE/config"; then
	echo "config: identical"
else
	echo "config: DIFFERENT"
	diff -u "$HERE/config" "$OUT/.config" | head -40
	status=1
fi
if cmp -s "$BZ" "$HERE/vmlinuz"; then
	echo "vmlinuz: identical (sha256 $(sha256sum "$BZ" | cut -d' ' -f1))"
else
	echo "vmlinuz: DIFFERENT (committed $(sha256sum "$HERE/vmlinuz" | cut -d' ' -f1), rebuilt $(sha256sum "$BZ" | cut -d' ' -f1), kept at $BZ)"
	status=1
fi
exit $status
