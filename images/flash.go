package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"roomkit/images/disk"
	"strings"

	"golang.org/x/sys/unix"
)

// FlashConfig says what to write where.
type FlashConfig struct {
	Image string // a kit image from Build
	// Device is a whole disk (/dev/sdX) to write; Out a file instead.
	Device string
	Out    string
	// OutSize is the size of Out (default: the image's size).
	OutSize int64
	// Settings is a settings.json to pre-seed into /perm/roomkit (nil:
	// keep what the image has).
	Settings []byte
	// Progress receives a progress bar (nil: none).
	Progress io.Writer
	// mountinfo and sysBlock are /proc/self/mountinfo and /sys/dev/block;
	// tests point them elsewhere.
	mountinfo, sysBlock string
}

// Flash writes a kit image to a disk or file: the boot and root partitions
// as they are in the image, partition tables for the target's size, a
// fresh /perm filling the rest, the pre-seeded settings; then it reads the
// partitions back and compares their SHA-256 with the image's.
func Flash(ctx context.Context, cfg FlashConfig) error {
	img, err := os.Open(cfg.Image)
	if err != nil {
		return fmt.Errorf("open image: %w", err)
	}
	defer img.Close()
	st, err := img.Stat()
	if err != nil {
		return err
	}
	src, err := disk.ReadLayout(img, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Image, err)
	}
	hash, err := src.HostHashOf()
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Image, err)
	}
	arch := "arm64"
	if src.Partitions[1].Type == disk.TypeRootAMD64 {
		arch = "amd64"
	}
	if err := NeedTools("mkfs.ext4", "debugfs"); err != nil {
		return err
	}

	var target string
	var size int64
	switch {
	case cfg.Device != "" && cfg.Out != "":
		return errors.New("give either a device or an output file, not both")
	case cfg.Device != "":
		target = cfg.Device
		if size, err = checkDevice(cfg); err != nil {
			return err
		}
	case cfg.Out != "":
		target = cfg.Out
		size = cfg.OutSize
		if size == 0 {
			size = st.Size()
		}
		if size < disk.MinDiskSize {
			return fmt.Errorf("refusing to write %s: %s is too small for a kit, which needs at least %s", cfg.Out, disk.HumanBytes(size), disk.HumanBytes(disk.MinDiskSize))
		}
	default:
		return errors.New("give a device (-device /dev/sdX) or an output file (-out disk.img)")
	}
	l, err := disk.NewLayout(size, hash, arch)
	if err != nil {
		return fmt.Errorf("refusing to write %s: %w", target, err)
	}

	flags := os.O_RDWR
	if cfg.Out != "" {
		flags |= os.O_CREATE | os.O_TRUNC
	} else {
		flags |= unix.O_EXCL // the kernel refuses while a partition is mounted
	}
	dst, err := os.OpenFile(target, flags, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", target, err)
	}
	defer dst.Close()
	if cfg.Out != "" {
		if err := dst.Truncate(size); err != nil {
			return fmt.Errorf("size %s: %w", target, err)
		}
	}

	// The partitions' contents first, the tables last: a flash cut short
	// leaves a disk nothing boots from rather than a half-written kit.
	start, end := int64(disk.BootOffset), int64(disk.PermOffset)
	want := sha256.New()
	bar := &progress{w: cfg.Progress, total: end - start, label: "writing"}
	r := io.TeeReader(io.NewSectionReader(img, start, end-start), want)
	if _, err := io.Copy(io.NewOffsetWriter(dst, start), &ctxReader{ctx, io.TeeReader(r, bar)}); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	bar.done()
	if err := l.WritePartitionTables(dst); err != nil {
		return err
	}
	if err := dst.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", target, err)
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := FormatPerm(ctx, target, l.Perm()); err != nil {
		return fmt.Errorf("make /perm on %s: %w", target, err)
	}
	if cfg.Settings != nil {
		if err := SeedPerm(ctx, target, l.Perm(), map[string][]byte{"roomkit/settings.json": cfg.Settings}); err != nil {
			return err
		}
	}

	// Read back, past the page cache, and compare.
	rb, err := os.Open(target)
	if err != nil {
		return err
	}
	defer rb.Close()
	unix.Fadvise(int(rb.Fd()), 0, 0, unix.FADV_DONTNEED)
	got := sha256.New()
	bar = &progress{w: cfg.Progress, total: end - start, label: "verifying"}
	if _, err := io.Copy(got, &ctxReader{ctx, io.TeeReader(io.NewSectionReader(rb, start, end-start), bar)}); err != nil {
		return fmt.Errorf("read back %s: %w", target, err)
	}
	bar.done()
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		return fmt.Errorf("verification failed: %s reads back different from the image (SHA-256 %x, want %x); the disk may be faulty or counterfeit", target, got.Sum(nil), want.Sum(nil))
	}
	if _, err := disk.ReadLayout(rb, size); err != nil {
		return fmt.Errorf("verification failed: the partition table on %s: %w", target, err)
	}
	return nil
}

// checkDevice refuses what must not be overwritten and returns the size.
func checkDevice(cfg FlashConfig) (int64, error) {
	dev := cfg.Device
	fi, err := os.Stat(dev)
	if err != nil {
		return 0, fmt.Errorf("refusing %s: %w", dev, err)
	}
	if fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
		return 0, fmt.Errorf("refusing %s: not a block device (to write an image file, use -out)", dev)
	}
	var s unix.Stat_t
	if err := unix.Stat(dev, &s); err != nil {
		return 0, err
	}
	mountinfo, sysBlock := cfg.mountinfo, cfg.sysBlock
	if mountinfo == "" {
		mountinfo = "/proc/self/mountinfo"
	}
	if sysBlock == "" {
		sysBlock = "/sys/dev/block"
	}
	info, err := os.ReadFile(mountinfo)
	if err != nil {
		return 0, fmt.Errorf("cannot tell whether %s is in use: %w", dev, err)
	}
	devNum := fmt.Sprintf("%d:%d", unix.Major(uint64(s.Rdev)), unix.Minor(uint64(s.Rdev)))
	if err := checkNotInUse(dev, devNum, string(info), sysBlock); err != nil {
		return 0, err
	}
	f, err := os.Open(dev)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", dev, err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dev, err)
	}
	if size < disk.MinDiskSize {
		return 0, fmt.Errorf("refusing %s: it holds %s, a kit needs at least %s", dev, disk.HumanBytes(size), disk.HumanBytes(disk.MinDiskSize))
	}
	return size, nil
}

// checkNotInUse refuses a disk (major:minor) when it or one of its
// partitions is mounted, and above all when it holds the running system's
// root.
func checkNotInUse(dev, disk, mountinfo, sysBlock string) error {
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mm, mountPoint := f[2], f[4]
		if mm != disk && diskOf(sysBlock, mm) != disk {
			continue
		}
		if mountPoint == "/" {
			return fmt.Errorf("refusing %s: it is the disk this system runs from (its root file system is on it)", dev)
		}
		return fmt.Errorf("refusing %s: it is mounted on %s; unmount it first (umount %s)", dev, mountPoint, mountPoint)
	}
	return nil
}

// diskOf returns the whole disk's major:minor for a partition's, from
// sysfs: /sys/dev/block/M:m links to …/sda/sda1 for a partition.
func diskOf(sysBlock, mm string) string {
	p, err := filepath.EvalSymlinks(filepath.Join(sysBlock, mm))
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(p, "partition")); err != nil {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "dev"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// progress draws a one-line progress bar.
type progress struct {
	w           io.Writer
	label       string
	total, n    int64
	lastPercent int
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.w == nil {
		return len(b), nil
	}
	pc := int(p.n * 100 / p.total)
	if pc != p.lastPercent || p.n == int64(len(b)) {
		p.lastPercent = pc
		const width = 30
		fill := pc * width / 100
		fmt.Fprintf(p.w, "\r%-9s [%s%s] %3d%%  %s of %s", p.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), pc, disk.HumanBytes(p.n), disk.HumanBytes(p.total))
	}
	return len(b), nil
}

func (p *progress) done() {
	if p.w != nil {
		fmt.Fprintln(p.w)
	}
}

// ctxReader stops a long copy when the user interrupts.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
