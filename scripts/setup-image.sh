#!/usr/bin/env bash
# Installs what building the kit's images and booting them in QEMU needs
# (images/, cmd/roomkit-image, cmd/roomkit-flash and their tests):
#   squashfs-tools    mksquashfs, the root file systems
#   dosfstools        mkfs.vfat, the boot partition (FAT16, one FAT)
#   mtools            mcopy/mmd, files into the boot FAT without mounting
#   e2fsprogs         mkfs.ext4 and debugfs, the /perm partition
#   fdisk             sfdisk, to inspect partition tables in tests
#   systemd-boot-efi  the amd64 boot loader (BOOTX64.EFI)
#   ovmf              QEMU's UEFI firmware
#   qemu-system-x86   the amd64 boot test; qemu-system-arm for the Pi
#   qemu-utils        qemu-img
#   cpio              the initramfs of the test kernel's smoke boot
#   iproute2          ip: the QEMU kit test's own network namespace
#   fonts-noto-core, fonts-droid-fallback, fonts-nanum
#                     the UI's fallback fonts, copied into the kit's root
#
# Idempotent: a second run installs nothing and takes a second.
set -euo pipefail

say() { printf 'setup-image: %s\n' "$*"; }

. "$(dirname "$0")/apt.sh"

apt_install squashfs-tools dosfstools mtools e2fsprogs fdisk systemd-boot-efi \
  ovmf qemu-system-x86 qemu-utils cpio iproute2 \
  fonts-noto-core fonts-droid-fallback fonts-nanum

# The gokrazy modules the images are built from (images/gokrazy, a module
# of its own): the QEMU tests build images inside a network namespace
# without a route out, so the module cache must hold them before.
(cd "$(dirname "$0")/../images/gokrazy" && GOWORK=off GOFLAGS=-mod=mod go mod download)
say "ready"
