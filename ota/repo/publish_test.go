package repo

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"roomkit/images/disk"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkit/ota"
)

// squashfs builds a squashfs root whose sbom says version and target, with
// a kernel modules directory when kernel is not "".
func squashfs(t *testing.T, version, target, kernel string, extra ...string) string {
	t.Helper()
	if _, err := exec.LookPath("mksquashfs"); err != nil {
		t.Skip("mksquashfs is not installed (Debian: squashfs-tools)")
	}
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	files := map[string]string{
		"etc/gokrazy/sbom.json": `{"sbom_hash":"","sbom":{"version":"` + version + `","target":"` + target + `"}}`,
		"etc/hostname":          "roomkit",
	}
	if kernel != "" {
		files["lib/modules/"+kernel+"/modules.dep"] = ""
	}
	for name, body := range files {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "root.squashfs")
	args := append([]string{tree, out, "-noappend", "-quiet", "-no-progress"}, extra...)
	if b, err := exec.Command("mksquashfs", args...).CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v\n%s", err, b)
	}
	return out
}

// diskImage writes a sparse kit disk image with root in its p2.
func diskImage(t *testing.T, root string) string {
	t.Helper()
	l, err := disk.NewLayout(disk.MinDiskSize, disk.HostHash("roomkit"), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(disk.MinDiskSize); err != nil {
		t.Fatal(err)
	}
	if err := l.WritePartitionTables(f); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, disk.Root2Offset); err != nil {
		t.Fatal(err)
	}
	return p
}

// published returns the signed description and bytes of a published target.
func published(t *testing.T, r *Repo, version, target string) (ota.Release, []byte) {
	t.Helper()
	rep, err := Verify(r.Dir(), nil, time.Now())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for _, l := range rep.Releases {
		if l.Release.Version == version && l.Release.Target == target {
			b, err := os.ReadFile(l.File)
			if err != nil {
				t.Fatal(err)
			}
			return l.Release, b
		}
	}
	t.Fatalf("%s for %s is not published: %+v", version, target, rep.Releases)
	return ota.Release{}, nil
}

func TestPublishRoots(t *testing.T) {
	if _, err := exec.LookPath("unsquashfs"); err != nil {
		t.Skip("unsquashfs is not installed (Debian: squashfs-tools)")
	}
	padded := squashfs(t, "1.5.0", "amd64", "6.12.3-roomkit")
	nopad := squashfs(t, "1.5.1", "amd64-testdevices", "", "-nopad")
	rpi := squashfs(t, "1.5.2", "rpi4", "6.6.31-v8")
	for _, tc := range []struct {
		name, image, version, target, kernel string
		root                                 string // the squashfs whose bytes must be published
	}{
		{"bare squashfs", padded, "1.5.0", "amd64", "6.12.3-roomkit", padded},
		{"squashfs without padding", nopad, "1.5.1", "amd64", "", nopad},
		{"disk image", diskImage(t, rpi), "1.5.2", "rpi4", "6.6.31-v8", rpi},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			if err := r.Publish(tc.image, ota.Release{Version: tc.version, Target: tc.target, Channels: []string{"stable"}}); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			rel, got := published(t, r, tc.version, tc.target)
			if rel.Kernel != tc.kernel {
				t.Errorf("kernel %q, want %q", rel.Kernel, tc.kernel)
			}
			want, err := os.ReadFile(tc.root)
			if err != nil {
				t.Fatal(err)
			}
			used := int64(binary.LittleEndian.Uint64(want[40:]))
			if n := (used + 4095) / 4096 * 4096; int64(len(got)) != n {
				t.Errorf("published %d bytes, want bytes_used %d rounded up to 4 KiB = %d", len(got), used, n)
			}
			if !bytes.Equal(got[:len(want)], want) || bytes.Count(got[len(want):], []byte{0}) != len(got)-len(want) {
				t.Error("published bytes are not the squashfs padded with zeros")
			}
		})
	}
}

func TestPublishRefusals(t *testing.T) {
	sim := func(b string) func(t *testing.T) string {
		return func(t *testing.T) string { return writeImage(t, []byte(b)) }
	}
	sq := func(version, target string) func(t *testing.T) string {
		return func(t *testing.T) string {
			if _, err := exec.LookPath("unsquashfs"); err != nil {
				t.Skip("unsquashfs is not installed")
			}
			return squashfs(t, version, target, "")
		}
	}
	truncated := func(t *testing.T) string {
		b, err := os.ReadFile(squashfs(t, "1.5.0", "amd64", ""))
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint64(b[40:], uint64(len(b)*2))
		return writeImage(t, b)
	}
	for _, tc := range []struct {
		name    string
		image   func(t *testing.T) string
		rel     ota.Release
		wantErr string
	}{
		{"version with v", sim("x"), ota.Release{Version: "v1.5.0", Target: "sim", Channels: []string{"stable"}}, `version "v1.5.0" is not MAJOR.MINOR.PATCH[-pre] (like 1.5.0)`},
		{"unknown target", sim("x"), ota.Release{Version: "1.5.0", Target: "arm", Channels: []string{"stable"}}, `target "arm" is not one of amd64, rpi4, sim`},
		{"no channel", sim("x"), ota.Release{Version: "1.5.0", Target: "sim"}, "give at least one channel to publish in (like stable)"},
		{"bad channel", sim("x"), ota.Release{Version: "1.5.0", Target: "sim", Channels: []string{"Stable/2"}}, `channel "Stable/2" is not a channel name (lower-case letters, digits and dashes, like stable or beta)`},
		{"empty file", sim(""), ota.Release{Version: "1.5.0", Target: "sim", Channels: []string{"stable"}}, "is empty"},
		{"sim header says another version", sim(`{"roomkit_sim_image":1,"version":"0.3.0"}` + "\n"), ota.Release{Version: "0.2.0", Target: "sim", Channels: []string{"stable"}}, "is a sim image of version 0.3.0, not 0.2.0"},
		{"not an image", sim(strings.Repeat("junk", 1000)), ota.Release{Version: "1.5.0", Target: "amd64", Channels: []string{"stable"}}, "is neither a squashfs root nor a kit disk image (no GPT at LBA 1: not a kit image)"},
		{"tiny file", sim("ab"), ota.Release{Version: "1.5.0", Target: "amd64", Channels: []string{"stable"}}, "is too short to be a kit image or root (2 bytes)"},
		{"truncated squashfs", truncated, ota.Release{Version: "1.5.0", Target: "amd64", Channels: []string{"stable"}}, "the file is truncated or damaged"},
		{"sbom version differs", sq("1.4.0", "amd64"), ota.Release{Version: "1.5.0", Target: "amd64", Channels: []string{"stable"}}, `says it is version "1.4.0" (/etc/gokrazy/sbom.json), not 1.5.0: build it with VERSION=1.5.0`},
		{"sbom target differs", sq("1.5.0", "rpi4"), ota.Release{Version: "1.5.0", Target: "amd64", Channels: []string{"stable"}}, `is built for "rpi4" (/etc/gokrazy/sbom.json), not amd64`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			before := r.Root()
			err := r.Publish(tc.image(t), tc.rel)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Publish: %v, want an error containing %q", err, tc.wantErr)
			}
			// Nothing changed: still the empty version 1 repository, no stray files.
			rep, err := Verify(r.Dir(), before, time.Now())
			if err != nil {
				t.Fatalf("Verify after a refusal: %v", err)
			}
			if rep.Targets.Version != 1 || rep.Timestamp.Version != 1 || len(rep.Releases) != 0 {
				t.Errorf("a refused publish changed the repository: %+v", rep)
			}
			leftovers, _ := filepath.Glob(filepath.Join(r.Dir(), "targets", "*", "*"))
			if len(leftovers) > 0 {
				t.Errorf("a refused publish left %v", leftovers)
			}
		})
	}
}

func TestPublishSameVersion(t *testing.T) {
	r := newRepo(t)
	a := writeImage(t, []byte("image a"))
	b := writeImage(t, []byte("image b"))
	rel := ota.Release{Version: "1.5.0", Target: "sim", Channels: []string{"beta"}}
	if err := r.Publish(a, rel); err != nil {
		t.Fatal(err)
	}
	err := r.Publish(b, ota.Release{Version: "1.5.0", Target: "sim", Channels: []string{"stable"}})
	if want := "1.5.0 is already published for sim with another image"; err == nil || err.Error() != want {
		t.Fatalf("Publish of other bytes: %v, want %q", err, want)
	}
	// The same again changes nothing (a re-run release job).
	rep1, _ := Verify(r.Dir(), nil, time.Now())
	if err := r.Publish(a, rel); err != nil {
		t.Fatal(err)
	}
	rep2, _ := Verify(r.Dir(), nil, time.Now())
	if rep1.Timestamp.Version != rep2.Timestamp.Version {
		t.Errorf("publishing the same release twice wrote timestamp v%d", rep2.Timestamp.Version)
	}
	// Promotion: the same bytes, now in stable too.
	if err := r.Publish(a, ota.Release{Version: "1.5.0", Target: "sim", Channels: []string{"stable"}}); err != nil {
		t.Fatal(err)
	}
	got, _ := published(t, r, "1.5.0", "sim")
	if strings.Join(got.Channels, ",") != "beta,stable" {
		t.Errorf("channels after promotion %v", got.Channels)
	}
}

func TestPublishConcurrent(t *testing.T) {
	r := newRepo(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate Repos, as separate processes would have.
			ri, err := Open(r.Dir())
			if err != nil {
				errs[i] = err
				return
			}
			v := "1." + string(rune('0'+i)) + ".0"
			errs[i] = ri.Publish(writeImage(t, []byte("image "+v)), ota.Release{Version: v, Target: "sim", Channels: []string{"stable"}})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Verify(r.Dir(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Releases) != 4 || rep.Targets.Version != 5 {
		t.Errorf("after 4 concurrent publishes: targets v%d with %d releases, want v5 with 4", rep.Targets.Version, len(rep.Releases))
	}
}

func TestPublishStreams(t *testing.T) {
	// A pipe is accepted for sim images (the demo publishes <(…)): the
	// image is never read twice nor held whole.
	r := newRepo(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	img := bytes.Repeat([]byte{7}, 3<<20)
	go func() {
		pw.Write(img)
		pw.Close()
	}()
	defer pr.Close()
	if err := r.Publish("/dev/fd/"+strconv.Itoa(int(pr.Fd())), ota.Release{Version: "0.2.0", Target: "sim", Channels: []string{"stable"}}); err != nil {
		t.Fatal(err)
	}
	_, got := published(t, r, "0.2.0", "sim")
	if sha256.Sum256(got) != sha256.Sum256(img) {
		t.Error("piped image published wrong")
	}

	// A disk image or root must be a file: its parts are found by offset.
	pr2, pw2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pw2.Close()
	defer pr2.Close()
	name := "/dev/fd/" + strconv.Itoa(int(pr2.Fd()))
	err = r.Publish(name, ota.Release{Version: "1.5.0", Target: "rpi4", Channels: []string{"stable"}})
	if want := name + " is not a regular file: give a disk image or squashfs file for rpi4"; err == nil || err.Error() != want {
		t.Errorf("Publish of a pipe for rpi4: %v, want %q", err, want)
	}
}

func FuzzRootSection(f *testing.F) {
	f.Add([]byte("hsqs" + strings.Repeat("\x00", 92)))
	f.Add([]byte(strings.Repeat("\x00", 1024)))
	f.Add(append([]byte("hsqs"), bytes.Repeat([]byte{0xff}, 200)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := rootSection(bytes.NewReader(b), int64(len(b)), "fuzz")
		if err != nil {
			return
		}
		if s.offset < 0 || s.length <= 0 || s.offset+s.length > int64(len(b))+rootAlign {
			t.Fatalf("section %+v out of a %d-byte file", s, len(b))
		}
	})
}
