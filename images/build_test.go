package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"roomkit/images/disk"
	"strings"
	"testing"

	"roomkit/settings"
)

// TestBuildAMD64 checks two amd64 builds from the same inputs (the QEMU
// test's, shared_test.go): the root file systems must be byte-identical,
// hold what gokrazy's init needs (file list golden), and the boot FAT must
// carry the kernel, loader and command line.
func TestBuildAMD64(t *testing.T) {
	if testing.Short() {
		t.Skip("image build: skipped with -short")
	}
	if err := NeedTools("mksquashfs", "unsquashfs", "mkfs.vfat", "mcopy", "mtype", "mkfs.ext4", "debugfs", systemdBoot); err != nil {
		t.Skipf("image build skipped: %v", err)
	}
	ctx := context.Background()
	_, first := sharedAMD64(t, "a")
	cfg, res := sharedAMD64(t, "a2")
	var sums [2][32]byte
	for i, r := range []Result{first, res} {
		b, err := os.ReadFile(r.Root)
		if err != nil {
			t.Fatal(err)
		}
		sums[i] = sha256.Sum256(b)
	}
	if sums[0] != sums[1] {
		t.Errorf("two builds from the same inputs gave different roots: %x and %x", sums[0], sums[1])
	}
	if res.RootSize > 120e6 {
		t.Errorf("the root is %d bytes, over the 120 MB budget", res.RootSize)
	}

	out, err := exec.Command("unsquashfs", "-lls", "-d", "", res.Root).Output()
	if err != nil {
		t.Fatalf("unsquashfs: %v", err)
	}
	var list []string
	var modules, alsa int
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		name := strings.Join(f[5:], " ")
		switch {
		case strings.HasPrefix(name, "/lib/modules/"):
			modules++
			continue
		case strings.HasPrefix(name, "/usr/share/alsa/"):
			alsa++
			continue
		case name == "/user/kitprobe":
			continue // the test image's probe: not part of a kit
		}
		list = append(list, f[0]+" "+f[1]+" "+name) // mode, owner, path: sizes change with the code
	}
	if modules == 0 || alsa == 0 {
		t.Errorf("the root lacks kernel modules (%d files) or ALSA's configuration (%d files)", modules, alsa)
	}
	golden(t, "amd64-root.txt", []byte(strings.Join(list, "\n")+"\n"))

	// roomd and roomctl run without a libc.
	ext := filepath.Join(t.TempDir(), "extract")
	if out, err := exec.Command("unsquashfs", "-no-progress", "-d", ext, res.Root, "user/roomd", "user/roomctl").CombinedOutput(); err != nil {
		t.Fatalf("unsquashfs: %v\n%s", err, out)
	}
	for _, p := range []string{"user/roomd", "user/roomctl"} {
		if err := staticELF(filepath.Join(ext, p), elf.EM_X86_64); err != nil {
			t.Errorf("/%s: %v", p, err)
		}
	}

	stage := filepath.Join(res.WorkDir, "root")
	if b, _ := os.ReadFile(filepath.Join(stage, "etc", "hostname")); string(b) != "qemu-test-room" {
		t.Errorf("/etc/hostname = %q, want qemu-test-room (from the label)", b)
	}
	if _, err := os.Stat(filepath.Join(stage, "etc", "gokr-pw.txt")); err == nil {
		t.Error("the root has /etc/gokr-pw.txt: gokrazy would open its update API to the network")
	}

	// The boot FAT, as the firmware and gokrazy's update code read it.
	l := res.Layout
	boot := filepath.Join(t.TempDir(), "boot.fat")
	if err := os.WriteFile(boot, readAt(t, cfg.Out, l.Partitions[0].Offset, disk.BootSize), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	for _, f := range []struct{ path, want string }{
		{"::cmdline.txt", "root=PARTUUID=" + l.Partitions[0].GUID + "/PARTNROFF=1"},
		{"::loader/entries/gokrazy.conf", "title gokrazy\rlinux /vmlinuz\roptions "},
	} {
		cmd := exec.Command("mtype", "-i", boot, f.path)
		cmd.Env = env
		b, err := cmd.Output()
		if err != nil || !bytes.Contains(b, []byte(f.want)) {
			t.Errorf("%s: %v: %q lacks %q", f.path, err, b, f.want)
		}
	}
	for _, name := range []string{"vmlinuz ", "cmdline txt"} {
		if !bytes.Contains(readAt(t, boot, 0, 1<<20), []byte(name)) {
			t.Errorf("the root directory has no lowercase 8.3 entry %q", name)
		}
	}
	got, err := ReadPerm(ctx, cfg.Out, l.Perm(), "roomkit/settings.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := settings.Parse(got); err != nil || !bytes.Contains(got, []byte(`"http://`+guestPortal+`"`)) {
		t.Errorf("pre-seeded settings %q: %v", got, err)
	}
}

func readAt(t *testing.T, path string, off, n int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

func golden(t *testing.T, name string, got []byte) {
	path := filepath.Join("testdata", name)
	// -update is ui/uitest's flag (this test binary links it).
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./images -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the build made:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
