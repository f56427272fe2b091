package images

import (
	"fmt"
	"strings"
)

// Target is a kind of kit hardware an image is built for.
type Target struct {
	Name   string // rpi4, amd64
	GOARCH string
	// Kernel and Firmware are Go module paths (pinned in images/gokrazy).
	Kernel string
	// KernelDir, when set, replaces Kernel with a kernel package kept in
	// this repository (a directory, relative to the module root, holding
	// vmlinuz and, if it has modules, lib/modules).
	KernelDir string
	Firmware  string // "" when the target boots through UEFI
	// Cmdline is the kernel command line before root= and extra flags.
	Cmdline string
	// UEFI targets boot through systemd-boot and need its loader entry.
	UEFI bool
}

// Targets are the images this package builds.
var Targets = []Target{
	{
		Name:   "amd64",
		GOARCH: "amd64",
		Kernel: "github.com/gokrazy/kernel.amd64",
		// The last console= is /dev/console, where the kernel, init and
		// our test probe write: the serial port, so a headless PC (and
		// QEMU) shows them. rootwait rather than the kernel package's
		// rootdelay=10: wait for the root device itself, not a fixed 10 s.
		Cmdline: "console=tty1 console=ttyS0,115200 ro init=/gokrazy/init panic=10 oops=panic rootwait pci=nommconf",
		UEFI:    true,
	},
	{
		// The QEMU test kit: amd64 with the test kernel, whose virtual
		// camera, sound cards and touch screen stand in for a kit's USB
		// devices (images/kernel/testdevices). Kits keep the stock kernel.
		Name:      "amd64-testdevices",
		GOARCH:    "amd64",
		KernelDir: "images/kernel/testdevices",
		Cmdline:   "console=tty1 console=ttyS0,115200 ro init=/gokrazy/init panic=10 oops=panic rootwait pci=nommconf",
		UEFI:      true,
	},
	{
		Name:     "rpi4",
		GOARCH:   "arm64",
		Kernel:   "github.com/gokrazy/kernel.rpi",
		Firmware: "github.com/gokrazy/firmware",
		Cmdline:  "console=tty1 console=serial0,115200 init=/gokrazy/init rootwait panic=10 oops=panic",
	},
}

// LookupTarget returns the target called name.
func LookupTarget(name string) (Target, error) {
	var names []string
	for _, t := range Targets {
		if t.Name == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return Target{}, fmt.Errorf("unknown target %q: want one of %s", name, strings.Join(names, ", "))
}
