package alsa

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// checkStatic says why the ELF file at path is not a static executable for
// machine: gokrazy has no dynamic loader and no libc to find.
func checkStatic(path string, machine elf.Machine) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	if f.Machine != machine {
		return fmt.Errorf("%s is for %v, want %v", path, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s asks for a dynamic loader (PT_INTERP)", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return fmt.Errorf("read %s's dynamic section: %w", path, err)
	}
	if len(libs) > 0 {
		return fmt.Errorf("%s needs shared libraries %v (DT_NEEDED)", path, libs)
	}
	return nil
}

// The checker itself must catch a dynamic binary, or the cross test below
// proves nothing.
func TestCheckStaticCatchesDynamic(t *testing.T) {
	exe, err := os.Executable() // this test binary: linked against libc
	if err != nil {
		t.Fatal(err)
	}
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if err := checkStatic(exe, machine); err == nil && !isStaticBuild {
		t.Errorf("checkStatic(%s) = nil for a cgo test binary linked dynamically", exe)
	}
	if err := checkStatic("/bin/sh", elf.EM_AARCH64); err == nil {
		t.Error("checkStatic accepts /bin/sh as a static aarch64 executable")
	}
}

// isStaticBuild is true when TestStaticCrossBuild runs the static test
// binary it built; it stays false in ordinary test runs.
var isStaticBuild = os.Getenv("ROOMKIT_STATIC_BUILD") == "1"

// TestStaticCrossBuild builds roomd, roomctl and this package's test binary
// with scripts/build-static.sh for arm64 and amd64 and checks each is a
// static ELF for its machine; then it runs the static amd64 test binary on
// the null backend, which proves miniaudio works when linked statically with
// ALSA. It needs scripts/setup-cross.sh and takes minutes, so it runs only
// with ROOMKIT_CROSS=1 (make cross).
func TestStaticCrossBuild(t *testing.T) {
	if os.Getenv("ROOMKIT_CROSS") != "1" {
		t.Skip("set ROOMKIT_CROSS=1 (make cross) to build and check the static kit binaries")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arch    string
		machine elf.Machine
	}{{"arm64", elf.EM_AARCH64}, {"amd64", elf.EM_X86_64}} {
		t.Run(tc.arch, func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command(filepath.Join(root, "scripts/build-static.sh"), tc.arch, out)
			cmd.Dir = root
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build-static.sh %s: %v\n%s", tc.arch, err, b)
			}
			for _, bin := range []string{"roomd", "roomctl", "alsa.test", "v4l2.test"} {
				if err := checkStatic(filepath.Join(out, bin), tc.machine); err != nil {
					t.Error(err)
				}
			}
			if tc.arch != runtime.GOARCH {
				return
			}
			run := exec.Command(filepath.Join(out, "alsa.test"), "-test.run", "TestNullBackendStream|TestNullBackendUnplugMidStream|TestOpenErrors")
			run.Env = append(os.Environ(), "ROOMKIT_STATIC_BUILD=1", "ROOMKIT_CROSS=")
			if b, err := run.CombinedOutput(); err != nil {
				t.Errorf("the static test binary on the null backend: %v\n%s", err, b)
			}
		})
	}
}
