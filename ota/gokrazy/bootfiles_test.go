package gokrazy_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"roomkit/images"
	"roomkit/images/disk"
	. "roomkit/ota/gokrazy"
	"roomkit/ota/gokrazytest"
)

const testRoot = "PARTUUID=0123abcd-0000-4000-8000-00000000cafe/PARTNROFF=1"

func pad(line string, n int) string { return line + strings.Repeat(" ", n) }

func TestCleanBootFile(t *testing.T) {
	line := "console=ttyS0 root=" + testRoot + " ro init=/gokrazy/init"
	clean := pad(line+"\n", 64)
	fellOff := line + " " + SwitchMarker + "    " + SwitchMarker + "    gokrazy."
	for _, tt := range []struct {
		name, in, root, want, err string
	}{
		{"clean stays", clean, testRoot, clean, ""},
		{"try marker", pad(line+" "+TryMarker+"\n", 36), testRoot, clean, ""},
		{"switch marker padded before the newline", pad(line+" "+SwitchMarker+"   \n", 36), testRoot, clean, ""},
		// The file seen in the QEMU update test after four trials.
		{"newline fell off", fellOff, testRoot, pad(line+"\n", len(fellOff)-len(line)-1), ""},
		{"loader entry", pad("title gokrazy\rlinux /vmlinuz\roptions "+line+" "+SwitchMarker+"   "+TryMarker+"\n", 8), testRoot,
			pad("title gokrazy\rlinux /vmlinuz\roptions "+line+"\n", 8+len(SwitchMarker)+len(TryMarker)+4), ""},
		{"other root", clean, "PARTUUID=0123abcd-0000-4000-8000-00000000cafe/PARTNROFF=2", "", "not the committed root"},
		{"no root", pad("console=ttyS0\n", 10), testRoot, "", "names no root partition"},
		{"text after the padding", clean + "x", testRoot, "", "more than padding"},
		{"no room for the newline", line, testRoot, "", "no room for its newline"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CleanBootFile([]byte(tt.in), tt.root)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("CleanBootFile = %q, %v; want an error with %q", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("CleanBootFile(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzCleanBootFile(f *testing.F) {
	line := "console=ttyS0 root=" + testRoot + " ro"
	f.Add([]byte(pad(line+"\n", 64)))
	f.Add([]byte(line + " " + SwitchMarker + "    gokrazy.swi"))
	f.Add([]byte(pad("title gokrazy\rlinux /vmlinuz\roptions "+line+" "+TryMarker+"\n", 3)))
	f.Add([]byte("root=/dev/sda2\n\n "))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := CleanBootFile(b, testRoot)
		if err != nil {
			return
		}
		if len(out) != len(b) {
			t.Fatalf("length %d, want %d", len(out), len(b))
		}
		line, rest, ok := bytes.Cut(out, []byte{'\n'})
		if !ok || len(bytes.Trim(rest, " ")) != 0 {
			t.Fatalf("not the clean form: %q", out)
		}
		// gokrazy adds its markers as words of their own; a word that only
		// contains one ("0gokrazy.switch_on_boot=1") is someone else's.
		for _, w := range strings.Fields(string(line)) {
			if w == TryMarker || w == SwitchMarker {
				t.Fatalf("a marker is left: %q", out)
			}
		}
		if root, _, err := ParseCmdlineRoot(string(line)); err != nil || root != testRoot {
			t.Fatalf("root %q, %v", root, err)
		}
		again, err := CleanBootFile(out, testRoot)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("cleaning again: %q, %v", again, err)
		}
	})
}

// bootFAT writes a boot FAT the way images does (mkfs.vfat FAT16, one
// FAT, mtools) holding files.
func bootFAT(t *testing.T, files map[string][]byte) string {
	for _, tool := range []string{"mkfs.vfat", "mmd", "mcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "boot.img")
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(context.Background(), name, args...)
		cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	run("mkfs.vfat", "-F", "16", "-f", "1", "-n", "GOKRAZY", "-C", img, "20480")
	for _, d := range []string{"loader", "loader/entries"} {
		run("mmd", "-i", img, "::"+d)
	}
	// A file first, so the command line files do not start the data area.
	big := filepath.Join(dir, "vmlinuz")
	os.WriteFile(big, bytes.Repeat([]byte{0xaa}, 100000), 0o644)
	run("mcopy", "-i", img, big, "::vmlinuz")
	for _, name := range BootFiles {
		src := filepath.Join(dir, filepath.Base(name))
		if err := os.WriteFile(src, files[name], 0o644); err != nil {
			t.Fatal(err)
		}
		run("mcopy", "-i", img, src, "::"+name)
	}
	return img
}

// editFAT applies one of gokrazy's edits to both files in place. It
// finds each file by its contents (as mtools reads it) in the image, not
// by the FAT code under test.
func editFAT(t *testing.T, img string, edit func([]byte) []byte) {
	t.Helper()
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	// The loader entry first: cmdline.txt can be a part of it.
	var taken [2]int
	for _, name := range []string{BootFiles[1], BootFiles[0]} {
		b := readFAT(t, img, name)
		var at []int
		for off := bytes.Index(raw, b); off >= 0; {
			if off < taken[0] || off >= taken[1] {
				at = append(at, off)
			}
			next := bytes.Index(raw[off+1:], b)
			if next < 0 {
				break
			}
			off += 1 + next
		}
		if len(at) != 1 {
			t.Fatalf("%s is in the image %d times", name, len(at))
		}
		taken = [2]int{at[0], at[0] + len(b)}
		copy(raw[at[0]:], edit(b))
	}
	if err := os.WriteFile(img, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readFAT reads name as mtools sees it, a check independent of fileExtent.
func readFAT(t *testing.T, img, name string) []byte {
	t.Helper()
	cmd := exec.Command("mtype", "-i", img, "::"+name)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mtype %s: %v", name, err)
	}
	return out
}

// TestBootFilesTakeTenUpdates applies gokrazy's edits of ten successive
// updates to a real boot FAT, cleaning before each testboot as the agent
// does, and checks the files after every step.
func TestBootFilesTakeTenUpdates(t *testing.T) {
	if _, err := exec.LookPath("mtype"); err != nil {
		t.Skip("mtype not installed")
	}
	tg, _ := images.LookupTarget("amd64")
	l, _ := disk.NewLayout(disk.MinDiskSize, disk.HostHash("roomkit"), "amd64")
	cmdline := images.Cmdline(tg, l, nil)
	roots := map[int]string{
		2: "PARTUUID=" + l.Partitions[0].GUID + "/PARTNROFF=1",
		3: "PARTUUID=" + l.Partitions[0].GUID + "/PARTNROFF=2",
	}
	for _, tt := range []struct {
		name    string
		files   map[string][]byte
		switch_ bool
	}{
		{"image files, switch", map[string][]byte{BootFiles[0]: images.CmdlineFile(cmdline), BootFiles[1]: images.LoaderEntry(cmdline)}, true},
		{"image files, rollback", map[string][]byte{BootFiles[0]: images.CmdlineFile(cmdline), BootFiles[1]: images.LoaderEntry(cmdline)}, false},
		// The first kits' files: 64 bytes of padding, room for two
		// unclean updates.
		{"64-byte padding, switch", map[string][]byte{BootFiles[0]: []byte(pad(cmdline+"\n", 64)), BootFiles[1]: []byte(pad("title gokrazy\rlinux /vmlinuz\roptions "+cmdline+"\n", 64))}, true},
		{"64-byte padding, rollback", map[string][]byte{BootFiles[0]: []byte(pad(cmdline+"\n", 64)), BootFiles[1]: []byte(pad("title gokrazy\rlinux /vmlinuz\roptions "+cmdline+"\n", 64))}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img := bootFAT(t, tt.files)
			committed := 2
			check := func(round int, step string, try, sw int) {
				t.Helper()
				for _, name := range BootFiles {
					b := readFAT(t, img, name)
					if len(b) != len(tt.files[name]) {
						t.Fatalf("round %d, %s: %s is %d bytes, was %d", round, step, name, len(b), len(tt.files[name]))
					}
					line, rest, ok := bytes.Cut(b, []byte{'\n'})
					if !ok || len(rest) == 0 || len(bytes.Trim(rest, " ")) != 0 {
						t.Fatalf("round %d, %s: %s does not end in a newline and padding: %q", round, step, name, b)
					}
					if root, _, err := ParseCmdlineRoot(string(line)); err != nil || root != roots[committed] {
						t.Fatalf("round %d, %s: %s names root %q (%v), want %q", round, step, name, root, err, roots[committed])
					}
					if n := bytes.Count(line, []byte(TryMarker)); n != try {
						t.Fatalf("round %d, %s: %s has %d try markers, want %d: %q", round, step, name, n, try, line)
					}
					if n := bytes.Count(line, []byte(SwitchMarker)); n != sw {
						t.Fatalf("round %d, %s: %s has %d switch markers, want %d: %q", round, step, name, n, sw, line)
					}
				}
			}
			for round := 1; round <= 10; round++ {
				if _, err := CleanBootDevice(img, roots[committed]); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				check(round, "cleaned", 0, 0)
				editFAT(t, img, gokrazytest.EnableTestboot)
				check(round, "testboot", 1, 0)
				editFAT(t, img, gokrazytest.TrialBoot)
				check(round, "trial boot", 0, 1)
				if tt.switch_ {
					committed = 5 - committed
					editFAT(t, img, func(b []byte) []byte { return gokrazytest.SwitchRoot(b, roots[committed]) })
					check(round, "switch", 0, 1)
				}
			}
			if changed, err := CleanBootDevice(img, roots[5-committed]); err == nil || changed {
				t.Errorf("cleaning for the uncommitted root = %v, %v; want a refusal", changed, err)
			}
		})
	}
}

// Without cleaning, the tight files run out of room: the third testboot
// changes nothing. This is the bug CleanBootFiles fixes.
func TestBootFilesWithoutCleaningRunOut(t *testing.T) {
	b := []byte(pad("console=ttyS0 root="+testRoot+" ro\n", 64))
	for round := 1; round <= 3; round++ {
		b = gokrazytest.EnableTestboot(b)
		if !bytes.Contains(b, []byte(TryMarker)) {
			if round < 3 {
				t.Fatalf("testboot %d did nothing already", round)
			}
			return
		}
		b = gokrazytest.TrialBoot(b)
	}
	t.Errorf("three unclean testboots all worked: %q", b)
}
