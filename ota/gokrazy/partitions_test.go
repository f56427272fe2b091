package gokrazy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fixture builds a fake /proc/cmdline and /sys for a root on disk/part.
func fixture(t *testing.T, cmdline, disk string, part int) localDisk {
	t.Helper()
	dir := t.TempDir()
	name := disk + map[bool]string{true: "p", false: ""}[strings.ContainsAny(disk[len(disk)-1:], "0123456789")] + string(rune('0'+part))
	devDir := filepath.Join(dir, "sys", "devices", "pci0000:00", "virtio1", "block", disk, name)
	must(t, os.MkdirAll(devDir, 0o755))
	must(t, os.WriteFile(filepath.Join(devDir, "uevent"), []byte("MAJOR=254\nMINOR="+string(rune('0'+part))+"\nDEVNAME="+name+"\nDEVTYPE=partition\nPARTN="+string(rune('0'+part))+"\n"), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "sys", "dev", "block"), 0o755))
	must(t, os.Symlink(filepath.Join("..", "..", "devices", "pci0000:00", "virtio1", "block", disk, name), filepath.Join(dir, "sys", "dev", "block", "254:"+string(rune('0'+part)))))
	must(t, os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmdline+"\n"), 0o644))
	dev := uint64(254<<8 | part)
	return localDisk{cmdline: filepath.Join(dir, "cmdline"), sys: filepath.Join(dir, "sys"), rootDev: func() (uint64, error) { return dev, nil }}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const gptCmdline = "console=ttyS0,115200 panic=10 oops=panic init=/gokrazy/init rootwait ro root=PARTUUID=60c24cc1-f3f9-427a-8199-2e18c40c0001/PARTNROFF=%d"

func TestPartitions(t *testing.T) {
	for _, tt := range []struct {
		name     string
		cmdline  string
		disk     string
		running  int
		moved    bool
		inactive string
	}{
		{"normal on 2", strings.Replace(gptCmdline, "%d", "1", 1), "vda", 2, false, "/dev/vda3"},
		// gokrazy's trial boot execs the other root's init: the
		// command line still names the first.
		{"trial of 3", strings.Replace(gptCmdline, "%d", "1", 1), "vda", 3, true, "/dev/vda3"},
		// After /update/switch and before the reboot, /proc/cmdline is
		// the one the kit booted with.
		{"switched, not rebooted", strings.Replace(gptCmdline, "%d", "1", 1), "vda", 3, true, "/dev/vda3"},
		{"after the switch's reboot", strings.Replace(gptCmdline, "%d", "2", 1), "vda", 3, false, "/dev/vda2"},
		{"rpi mbr normal", "console=tty1 root=PARTUUID=2e18c40c-02 rootwait", "mmcblk0", 2, false, "/dev/mmcblk0p3"},
		{"rpi mbr trial", "console=tty1 root=PARTUUID=2e18c40c-02 rootwait", "mmcblk0", 3, true, "/dev/mmcblk0p3"},
		{"device path", "root=/dev/sda3 ro", "sda", 3, false, "/dev/sda2"},
		{"nvme trial", "root=/dev/nvme0n1p3", "nvme0n1", 2, true, "/dev/nvme0n1p2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := fixture(t, tt.cmdline, tt.disk, tt.running)
			p, err := d.Partitions()
			if err != nil {
				t.Fatal(err)
			}
			if p.Running != tt.running || p.Disk != tt.disk || p.Moved() != tt.moved || p.Device(p.Inactive()) != tt.inactive {
				t.Errorf("got %+v moved=%v inactive=%s; want running %d on %s moved=%v inactive %s",
					p, p.Moved(), p.Device(p.Inactive()), tt.running, tt.disk, tt.moved, tt.inactive)
			}
		})
	}
}

func TestPartitionsRefuses(t *testing.T) {
	for _, tt := range []struct{ name, cmdline, want string }{
		{"no root", "console=tty1 quiet", "names no root partition"},
		{"boot partition", "root=/dev/sda1", "not a gokrazy root"},
		{"perm partition", "root=PARTUUID=2e18c40c-04", "not a gokrazy root"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fixture(t, tt.cmdline, "sda", 2).Partitions()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	d := fixture(t, "root=/dev/sda2", "sda", 2)
	d.rootDev = func() (uint64, error) { return 8<<8 | 9, nil } // not in the fake /sys: tmpfs, overlay
	if _, err := d.Partitions(); err == nil || !strings.Contains(err.Error(), "not on a block device partition") {
		t.Fatalf("err = %v", err)
	}
}

// TestGuard: in a trial (and after a switch) PutRoot would overwrite the
// running root; the client refuses without asking gokrazy.
func TestGuard(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gokrazy.sock")
	l, err := net.Listen("unix", sock)
	must(t, err)
	var puts atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		puts.Add(1)
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, strings.Repeat("ab", 32))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	trial := New(sock).WithDisk(fixture(t, strings.Replace(gptCmdline, "%d", "1", 1), "vda", 3))
	if _, err := trial.PutRoot(context.Background(), strings.NewReader("root"), 4); !errors.Is(err, ErrRootInUse) {
		t.Fatalf("PutRoot in a trial: err = %v, want ErrRootInUse", err)
	}
	if _, err := trial.ReadInactive(); !errors.Is(err, ErrRootInUse) {
		t.Fatalf("ReadInactive in a trial: err = %v", err)
	}
	if puts.Load() != 0 {
		t.Fatalf("gokrazy saw %d requests", puts.Load())
	}
	normal := New(sock).WithDisk(fixture(t, strings.Replace(gptCmdline, "%d", "1", 1), "vda", 2))
	if err := normal.Switch(context.Background()); err == nil || !strings.Contains(err.Error(), "not in a trial boot") {
		t.Fatalf("Switch outside a trial: err = %v", err)
	}
	sum, err := normal.PutRoot(context.Background(), strings.NewReader("root"), 4)
	if err != nil || sum != strings.Repeat("ab", 32) {
		t.Fatalf("PutRoot = %q, %v", sum, err)
	}
}

func FuzzParseCmdlineRoot(f *testing.F) {
	for _, s := range []string{gptCmdline, "root=/dev/mmcblk0p2", "root=PARTUUID=2e18c40c-03", "ubd0=/dev/loop0p3", "root=", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, n, err := ParseCmdlineRoot(s)
		if err == nil && n != 2 && n != 3 {
			t.Fatalf("%q: partition %d accepted", s, n)
		}
	})
}
