#!/usr/bin/env bash
# Builds fully static kit binaries for gokrazy, which has no libc:
#   scripts/build-static.sh GOARCH OUT
# GOARCH is amd64 or arm64; OUT is a directory that receives roomd, roomctl
# and the drivers' test binaries alsa.test (the ALSA driver's: until roomd
# imports the driver, it is what proves miniaudio and libasound link
# statically) and v4l2.test (the camera's, cgo through go4vl). smoke.sh
# runs the amd64 *.test in the QEMU test kernel (their TestKernel tests).
#
# Needs scripts/setup-cross.sh first: the cross compiler and the static
# libasound.a in .tools/alsa/<arch>/.
set -euo pipefail

usage() { echo "usage: $0 amd64|arm64 OUT" >&2; exit 2; }
[ $# -eq 2 ] || usage
arch=$1
out=$2
case "$arch" in
  amd64) triplet=x86_64-linux-gnu ;;
  arm64) triplet=aarch64-linux-gnu ;;
  *) usage ;;
esac
cc=$triplet-gcc cxx=$triplet-g++
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
alsa="$(pwd)/.tools/alsa/$arch/usr"

[ -f "$alsa/lib/libasound.a" ] || { echo "build-static: no $alsa/lib/libasound.a; run scripts/setup-cross.sh" >&2; exit 1; }
for c in "$cc" "$cxx"; do
  command -v "$c" >/dev/null || { echo "build-static: $c is missing; run scripts/setup-cross.sh" >&2; exit 1; }
done

version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}

# openh264 is C++, so cgo links with $CXX: it must be the target's too.
export GOOS=linux GOARCH="$arch" CGO_ENABLED=1 CC="$cc" CXX="$cxx"
# miniaudio: link ALSA at build time instead of dlopen (which crashes a
# static binary), and compile only the ALSA and null backends.
export CGO_CFLAGS="-O2 -I$alsa/include -DMA_NO_RUNTIME_LINKING -DMA_ENABLE_ONLY_SPECIFIC_BACKENDS -DMA_ENABLE_ALSA -DMA_ENABLE_NULL"
# libasound before the C libraries it needs: static linking resolves left
# to right.
export CGO_LDFLAGS="-L$alsa/lib -lasound -lm -lpthread -lrt -ldl"
tags=netgo,osusergo
ldflags="-extldflags=-static -X main.version=$version"

go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$out/" ./cmd/roomd ./cmd/roomctl
go test -c -trimpath -tags "$tags" -ldflags "-extldflags=-static" -o "$out/alsa.test" ./drivers/audio/alsa
go test -c -trimpath -tags "$tags" -ldflags "-extldflags=-static" -o "$out/v4l2.test" ./drivers/camera/v4l2
# evdev and uhid are pure Go: no cgo, static by construction.
CGO_ENABLED=0 go test -c -trimpath -o "$out/evdev.test" ./drivers/input/evdev
echo "build-static: $arch binaries in $out: roomd roomctl alsa.test v4l2.test evdev.test"
