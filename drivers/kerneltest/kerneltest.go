// Package kerneltest is for driver tests that need real kernel drivers:
// vivid for the camera, snd-aloop and QEMU's USB audio for sound, uhid and
// uinput for input. They are named TestKernel… and run only inside the
// QEMU test kernel (images/kernel/testdevices): smoke.sh puts the static
// test binaries (`*.test`) into the guest's initramfs, and its init runs
// each with -test.run ^TestKernel and ROOMKIT_KERNEL_TEST=1. Anywhere else
// they skip, because a developer's machine or CI host has no such devices
// (and must not have its own sound card or camera touched by tests).
//
// What the kernel really answered can be brought out of the guest with
// Record, to keep the fast fixture-based unit tests honest.
package kerneltest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
)

// Env is the environment variable the guest's init sets to "1".
const Env = "ROOMKIT_KERNEL_TEST"

// Require skips the test unless it runs inside the QEMU test kernel.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(Env) != "1" {
		t.Skipf("%s is not 1: these tests run inside the QEMU test kernel, see images/kernel/testdevices/smoke.sh", Env)
	}
}

// chunk is how many bytes go into one FIXTURE line: 3 KiB become 4 KiB of
// base64, short enough for any console.
const chunk = 3 << 10

var (
	// mu keeps the lines of two fixtures from interleaving when tests run
	// in parallel.
	mu sync.Mutex
	// out is where fixtures go: the guest's init passes the test binary's
	// stdout to the serial console. Tests of this package replace it.
	out io.Writer = os.Stdout
)

// Record writes data to stdout as fixture name, in lines
//
//	FIXTURE <name> <base64 of up to 3 KiB>
//	FIXTURE <name> sha256:<hex of the whole file>
//
// which smoke.sh (RECORD=dir) joins into dir/<name>, checking the sum: the
// serial console is the only way out of the guest. name is a file name
// without directories.
func Record(t testing.TB, name string, data []byte) {
	t.Helper()
	if name == "" || strings.ContainsAny(name, "/ \t\n") || name[0] == '.' {
		t.Fatalf("fixture name %q: want a plain file name", name)
	}
	var b strings.Builder
	for off := 0; off < len(data); off += chunk {
		fmt.Fprintf(&b, "FIXTURE %s %s\n", name, base64.StdEncoding.EncodeToString(data[off:min(off+chunk, len(data))]))
	}
	fmt.Fprintf(&b, "FIXTURE %s sha256:%x\n", name, sha256.Sum256(data))
	mu.Lock()
	defer mu.Unlock()
	if _, err := io.WriteString(out, b.String()); err != nil {
		t.Fatalf("record fixture %s: %v", name, err)
	}
	t.Logf("recorded fixture %s (%d bytes)", name, len(data))
}
