#!/bin/bash
# Boots the test kernel under QEMU (TCG, no disk) with the USB devices the
# kit tests use, with a small initramfs whose init (smoke/) lists the
# devices the guest sees, checks that vivid, the three ALSA cards, the USB
# input devices and the uinput/uhid nodes are all there, and then runs the
# drivers' kernel tests: every *.test binary in the test directory, with
# -test.run ^TestKernel and ROOMKIT_KERNEL_TEST=1. Each binary must exit 0,
# run at least one TestKernel test and skip none.
#
#   smoke.sh [VMLINUZ]   default: the committed vmlinuz next to this script
#
# Environment:
#   TESTS=dir    the static amd64 test binaries (*.test) to run in the guest;
#                unset: build them with scripts/build-static.sh amd64;
#                TESTS=none: only the device checks
#   RECORD=dir   write the fixtures the tests recorded (kerneltest.Record)
#                into dir, e.g. RECORD=drivers/camera/v4l2/testdata
#
# The serial log is kept in ${SCRATCH:-${TMPDIR:-/tmp}/roomkit-testkernel}/smoke.log.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KERNEL=${1:-$HERE/vmlinuz}
SCRATCH=${SCRATCH:-${TMPDIR:-/tmp}/roomkit-testkernel}
export LC_ALL=C

command -v qemu-system-x86_64 >/dev/null || {
	echo "smoke.sh: qemu-system-x86_64 missing (apt-get install qemu-system-x86)" >&2
	exit 1
}

REPO=$(cd "$HERE/../../.." && pwd)
root=$SCRATCH/smoke-root
rm -rf "$root"
mkdir -p "$root/dev" "$root/proc" "$root/sys"
(cd "$REPO" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -o "$root/init" ./images/kernel/testdevices/smoke)

tests=${TESTS:-}
if [ -z "$tests" ]; then
	tests=$SCRATCH/tests-amd64
	"$REPO/scripts/build-static.sh" amd64 "$tests"
fi
bins=()
if [ "$tests" != none ]; then
	for t in "$tests"/*.test; do
		[ -f "$t" ] && bins+=("$(basename "$t")")
	done
	[ ${#bins[@]} -gt 0 ] || { echo "smoke.sh: no *.test in $tests" >&2; exit 1; }
	mkdir -p "$root/tests"
	for b in "${bins[@]}"; do
		cp "$tests/$b" "$root/tests/"
	done
	# The static libasound reads its configuration (what "hw:1,0" means)
	# from /usr/share/alsa at run time, as on a kit.
	alsaconf=$REPO/.tools/alsa/amd64/usr/share/alsa
	[ -f "$alsaconf/alsa.conf" ] || { echo "smoke.sh: no $alsaconf/alsa.conf; run scripts/setup-cross.sh" >&2; exit 1; }
	mkdir -p "$root/usr/share"
	cp -r "$alsaconf" "$root/usr/share/alsa"
fi
(cd "$root" && find . | sort | cpio -o -H newc --quiet --reproducible) >"$SCRATCH/smoke.cpio"

log=$SCRATCH/smoke.log
# The device checks take ~10 s under TCG, the kernel tests about a minute
# more; the timeout only guards against a hang.
start=$(date +%s)
timeout 600 qemu-system-x86_64 -accel tcg -m 1024 -nographic -no-reboot \
	-kernel "$KERNEL" -initrd "$SCRATCH/smoke.cpio" \
	-append 'console=ttyS0 panic=-1' \
	-device qemu-xhci -device usb-tablet -device usb-kbd \
	-device usb-audio,audiodev=a -audiodev none,id=a \
	</dev/null >"$log" 2>&1 || true
tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
echo "smoke.sh: QEMU ran $(($(date +%s) - start)) s"

missing=0
for want in \
	'SMOKE video: /dev/video0 vivid-000-vid-cap' \
	'SMOKE sound: .*Dummy - Dummy' \
	'SMOKE sound: .*Loopback - Loopback' \
	'SMOKE sound: .*USB-Audio - QEMU USB Audio' \
	'SMOKE input: .*QEMU USB Tablet' \
	'SMOKE input: .*QEMU USB Keyboard' \
	'SMOKE node: /dev/uinput present' \
	'SMOKE node: /dev/uhid present' \
	'SMOKE done'; do
	if ! grep -q -- "$want" "$log"; then
		echo "smoke.sh: missing from the serial log: $want" >&2
		missing=1
	fi
done
grep -E '^SMOKE|vivid|ALSA|#[0-9]+: |input: ' "$log" | grep -v '^TEST' || true

# The kernel tests: each binary ran, passed, ran TestKernel tests and
# skipped none of them (a skip would mean the guest lacked a device).
for b in "${bins[@]}"; do
	q=$(printf '%s' "$b" | sed 's/[.]/[.]/g')
	why=
	if ! grep -q "^TEST $q exit: ok" "$log"; then
		why=$(grep -m1 "^TEST $q exit: " "$log" || echo "did not finish")
	elif ! grep -Eq "^TEST $q: *--- PASS: TestKernel" "$log"; then
		why="ran no TestKernel test"
	elif grep -Eq "^TEST $q: *--- SKIP: TestKernel" "$log"; then
		why="skipped $(grep -E "^TEST $q: *--- SKIP: TestKernel" "$log" | sed 's/.*--- SKIP: //' | tr '\n' ' ')"
	fi
	if [ -n "$why" ]; then
		echo "smoke.sh: $b failed: $why; its output:" >&2
		grep "^TEST $q[: ]" "$log" | grep -v "^TEST $q: FIXTURE " >&2 || true
		missing=1
	else
		grep -E "^TEST $q: *(--- |    [a-z_]+_test.go:[0-9]+: )" "$log" | grep -v "^TEST $q: FIXTURE " || true
		echo "smoke.sh: $b ok"
	fi
done
if [ ${#bins[@]} -gt 0 ] && ! grep -q '^TESTS done' "$log"; then
	echo "smoke.sh: the guest did not finish the kernel tests" >&2
	missing=1
fi

# RECORD: join each fixture's base64 lines and check its sum.
if [ -n "${RECORD:-}" ]; then
	mkdir -p "$RECORD"
	for name in $(sed -n 's/^TEST [^ ]*: FIXTURE \([^ ]*\) sha256:[0-9a-f]*$/\1/p' "$log" | sort -u); do
		q=$(printf '%s' "$name" | sed 's/[.]/[.]/g')
		sed -n "s|^TEST [^ ]*: FIXTURE $q \([A-Za-z0-9+/=]*\)\$|\1|p" "$log" | base64 -d >"$RECORD/$name.tmp"
		want=$(sed -n "s/^TEST [^ ]*: FIXTURE $q sha256:\([0-9a-f]*\)\$/\1/p" "$log" | tail -n1)
		got=$(sha256sum <"$RECORD/$name.tmp" | cut -d' ' -f1)
		if [ "$got" != "$want" ]; then
			echo "smoke.sh: fixture $name arrived damaged (sha256 $got, want $want); not written" >&2
			rm -f "$RECORD/$name.tmp"
			missing=1
			continue
		fi
		mv "$RECORD/$name.tmp" "$RECORD/$name"
		echo "smoke.sh: recorded $RECORD/$name ($(wc -c <"$RECORD/$name") bytes)"
	done
fi

if [ $missing != 0 ]; then
	echo "smoke.sh: FAIL (full log: $log)" >&2
	exit 1
fi
echo "smoke.sh: ok (full log: $log)"
