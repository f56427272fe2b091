//go:build linux

// Command smoke is the whole userland of the test kernel's smoke boot
// (smoke.sh): as PID 1 in a one-file initramfs it lists, on the serial
// console, the virtual devices the kernel registered (V4L2 nodes, ALSA
// cards, input devices, uinput/uhid/fb nodes) and powers the machine off.
// A kernel log alone cannot show this: snd-usb-audio registers its card
// silently, after USB enumeration.
//
// Then it runs the drivers' kernel tests: every /tests/*.test (static Go
// test binaries, see tests.go), each line of their output prefixed with
// "TEST <binary>: " so smoke.sh can tell them apart.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	for _, m := range []struct{ src, dir, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
	} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			fmt.Printf("SMOKE error: mkdir %s: %v\n", m.dir, err)
		}
		if err := syscall.Mount(m.src, m.dir, m.fstype, 0, ""); err != nil {
			fmt.Printf("SMOKE error: mount %s: %v\n", m.dir, err)
		}
	}

	// USB devices (usb-audio, usb-tablet, usb-kbd) enumerate after init
	// starts; under TCG that can take several seconds.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(read("/proc/asound/cards"), "USB-Audio") {
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(time.Second) // let the HID interfaces of the same bus settle

	for _, dir := range glob("/sys/class/video4linux/*") {
		fmt.Printf("SMOKE video: /dev/%s %s\n", filepath.Base(dir), strings.TrimSpace(read(dir+"/name")))
	}
	for _, line := range strings.Split(read("/proc/asound/cards"), "\n") {
		// Card lines look like " 0 [Dummy          ]: Dummy - Dummy".
		if strings.Contains(line, "]: ") {
			fmt.Printf("SMOKE sound: %s\n", strings.Join(strings.Fields(line), " "))
		}
	}
	for _, dir := range glob("/sys/class/input/input*") {
		fmt.Printf("SMOKE input: %s %s\n", filepath.Base(dir), strings.TrimSpace(read(dir+"/name")))
	}
	for _, node := range []string{"/dev/uinput", "/dev/uhid", "/dev/fb0", "/dev/snd/controlC0"} {
		if _, err := os.Stat(node); err != nil {
			fmt.Printf("SMOKE node: %s missing\n", node)
		} else {
			fmt.Printf("SMOKE node: %s present\n", node)
		}
	}
	fmt.Println("SMOKE done")
	runTests("/tests")
	syscall.Sync()
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Printf("SMOKE error: power off: %v\n", err)
	}
	select {}
}

func read(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	return string(b)
}

func glob(pattern string) []string {
	m, _ := filepath.Glob(pattern) // the pattern is constant and valid
	return m
}
