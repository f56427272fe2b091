package images

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"roomkit/images/disk"
	"strings"
	"testing"
)

// fakeImage writes a kit-layout image with recognisable partition
// contents (a real one takes half a minute to build).
func fakeImage(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kit.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := disk.NewLayout(disk.MinDiskSize, disk.HostHash("flash-test"), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(disk.MinDiskSize)
	if err := l.WritePartitionTables(f); err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte("boot"), 1000), disk.BootOffset)
	f.WriteAt(bytes.Repeat([]byte("root"), 1000), disk.Root2Offset+12345)
	return path
}

func TestFlashToFile(t *testing.T) {
	if err := NeedTools("mkfs.ext4", "debugfs"); err != nil {
		t.Skipf("flash test skipped: %v", err)
	}
	img := fakeImage(t)
	out := filepath.Join(t.TempDir(), "disk.img")
	settings := []byte(`{"portal_url": "https://portal.example", "label": "Room 1"}` + "\n")
	var bar bytes.Buffer
	size := int64(2 << 30)
	if err := Flash(context.Background(), FlashConfig{Image: img, Out: out, OutSize: size, Settings: settings, Progress: &bar}); err != nil {
		t.Fatalf("Flash: %v", err)
	}
	if !strings.Contains(bar.String(), "writing") || !strings.Contains(bar.String(), "verifying") || !strings.Contains(bar.String(), "100%") {
		t.Errorf("progress bar: %q", bar.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := disk.ReadLayout(f, size)
	if err != nil {
		t.Fatalf("the flashed disk's partition table: %v", err)
	}
	if want := size - disk.PermOffset - 33*disk.SectorSize; l.Perm().Size != want {
		t.Errorf("/perm holds %d bytes, want the rest of the disk, %d", l.Perm().Size, want)
	}
	if l.DiskGUID != disk.PartUUID(disk.HostHash("flash-test"), 0) {
		t.Errorf("disk GUID %s: the image's GUIDs were not kept", l.DiskGUID)
	}
	root := make([]byte, 4000)
	f.ReadAt(root, disk.Root2Offset+12345)
	if !bytes.Equal(root, bytes.Repeat([]byte("root"), 1000)) {
		t.Error("the root partition differs from the image's")
	}
	got, err := ReadPerm(context.Background(), out, l.Perm(), "roomkit/settings.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, settings) {
		t.Errorf("/perm/roomkit/settings.json = %q, want %q", got, settings)
	}
}

func TestFlashRefuses(t *testing.T) {
	img := fakeImage(t)
	dir := t.TempDir()
	notKit := filepath.Join(dir, "random.img")
	os.WriteFile(notKit, bytes.Repeat([]byte{1}, 4096), 0o644)
	for _, tt := range []struct {
		name string
		cfg  FlashConfig
		want string
	}{
		{"regular file as device", FlashConfig{Image: img, Device: img}, "not a block device (to write an image file, use -out)"},
		{"character device", FlashConfig{Image: img, Device: "/dev/null"}, "not a block device"},
		{"missing device", FlashConfig{Image: img, Device: filepath.Join(dir, "sdz")}, "no such file"},
		{"too small", FlashConfig{Image: img, Out: filepath.Join(dir, "small.img"), OutSize: 1 << 30}, "too small for a kit"},
		{"not a kit image", FlashConfig{Image: notKit, Out: filepath.Join(dir, "x.img")}, "not a kit image"},
		{"no target", FlashConfig{Image: img}, "give a device"},
		{"both targets", FlashConfig{Image: img, Device: "/dev/sdz", Out: "x"}, "not both"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Flash(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Flash = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckNotInUse(t *testing.T) {
	// A fake /sys/dev/block: 8:0 is sda, 8:1 its partition sda1; 8:16 is
	// sdb with partition 8:17.
	sys := t.TempDir()
	for _, d := range []struct{ mm, path string }{{"8:0", "sda"}, {"8:1", "sda/sda1"}, {"8:16", "sdb"}, {"8:17", "sdb/sdb1"}} {
		p := filepath.Join(sys, "devices", d.path)
		os.MkdirAll(p, 0o755)
		os.WriteFile(filepath.Join(p, "dev"), []byte(d.mm+"\n"), 0o644)
		if strings.Contains(d.path, "/") {
			os.WriteFile(filepath.Join(p, "partition"), []byte("1\n"), 0o644)
		}
		os.Symlink(p, filepath.Join(sys, d.mm))
	}
	const mountinfo = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
35 22 8:17 / /media/usb rw,relatime shared:2 - vfat /dev/sdb1 rw
40 22 0:5 / /proc rw - proc proc rw
`
	for _, tt := range []struct{ dev, disk, want string }{
		{"/dev/sda", "8:0", "the disk this system runs from"},
		{"/dev/sdb", "8:16", "it is mounted on /media/usb; unmount it first"},
		{"/dev/sdc", "8:32", ""},
	} {
		err := checkNotInUse(tt.dev, tt.disk, mountinfo, sys)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("checkNotInUse(%s) = %v, want %q", tt.dev, err, tt.want)
		}
	}
}
