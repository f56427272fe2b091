#!/bin/bash
# Boots the test kernel under QEMU (TCG, no disk) with the USB devices the
# kit tests use, with a one-program initramfs (smoke/main.go) that lists the
# devices the guest sees, and checks that vivid, the three ALSA cards, the
# USB input devices and the uinput/uhid nodes are all there.
#
#   smoke.sh [VMLINUZ]   default: the committed vmlinuz next to this script
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

root=$SCRATCH/smoke-root
rm -rf "$root"
mkdir -p "$root/dev" "$root/proc" "$root/sys"
(cd "$HERE/../../.." && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -o "$root/init" ./images/kernel/testdevices/smoke)
(cd "$root" && find . | sort | cpio -o -H newc --quiet --reproducible) >"$SCRATCH/smoke.cpio"

log=$SCRATCH/smoke.log
# TCG boots take ~10-30 s; the timeout only guards against a hang.
timeout 300 qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot \
	-kernel "$KERNEL" -initrd "$SCRATCH/smoke.cpio" \
	-append 'console=ttyS0 panic=-1' \
	-device qemu-xhci -device usb-tablet -device usb-kbd \
	-device usb-audio,audiodev=a -audiodev none,id=a \
	</dev/null >"$log" 2>&1 || true
tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"

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
grep -E '^SMOKE|vivid|ALSA|#[0-9]+: |input: ' "$log" || true
if [ $missing != 0 ]; then
	echo "smoke.sh: FAIL (full log: $log)" >&2
	exit 1
fi
echo "smoke.sh: ok (full log: $log)"
