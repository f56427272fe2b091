package gokrazy

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// Partitions says which root partition the kit runs from and which one the
// kernel command line names. gokrazy's update handlers take the command
// line's as "active" and write the other one; a trial boot (and a switch,
// until the next reboot) runs from the other one while the command line
// stays as it was.
type Partitions struct {
	Running     int    // partition number of the device holding / (2 or 3)
	RunningName string // its kernel name, e.g. "vda3"
	Cmdline     int    // partition number root= names (2 or 3)
	CmdlineName string // as root= says it, e.g. "PARTUUID=…/PARTNROFF=1"
	Disk        string // the disk both live on, e.g. "vda", "mmcblk0"
}

// Moved reports whether the kit runs from another root than the command
// line names: during a trial boot, and after a switch until the next
// reboot. gokrazy's "inactive" partition is then the running root.
func (p Partitions) Moved() bool { return p.Running != p.Cmdline }

// Inactive is the partition number PUT /update/root writes.
func (p Partitions) Inactive() int { return 5 - p.Cmdline }

// Device is the /dev path of partition n on the disk.
func (p Partitions) Device(n int) string {
	sep := ""
	if last := p.Disk[len(p.Disk)-1]; last >= '0' && last <= '9' {
		sep = "p" // mmcblk0p2, nvme0n1p2; but sda2, vda2
	}
	return "/dev/" + p.Disk + sep + strconv.Itoa(n)
}

// Disk is where a gokrazy keeps its roots: the running system's
// (LocalDisk) or a fake's.
type Disk interface {
	Partitions() (Partitions, error)
	// OpenInactive opens the partition PUT /update/root writes, for
	// reading.
	OpenInactive() (io.ReadCloser, error)
	// CleanBoot cleans the boot partition's command line files
	// (CleanBootFile) if they name root=root; else it writes nothing.
	CleanBoot(root string) error
}

// LocalDisk is the running system's disk, read from /proc/cmdline, the
// device number of / and /sys.
func LocalDisk() Disk {
	return localDisk{cmdline: "/proc/cmdline", sys: "/sys", rootDev: statRoot}
}

type localDisk struct {
	cmdline string // /proc/cmdline
	sys     string // /sys
	rootDev func() (uint64, error)
}

func statRoot() (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/", &st); err != nil {
		return 0, fmt.Errorf("stat /: %w", err)
	}
	return uint64(st.Dev), nil
}

func (d localDisk) OpenInactive() (io.ReadCloser, error) {
	p, err := d.Partitions()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p.Device(p.Inactive()))
	if err != nil {
		return nil, fmt.Errorf("open the inactive root: %w", err)
	}
	return f, nil
}

// Partitions reads the running root from the device number of / through
// /sys/dev/block/MAJ:MIN (its partition number and disk), and the command
// line's root= the way gokrazy's rootdev does.
func (d localDisk) Partitions() (Partitions, error) {
	var p Partitions
	dev, err := d.rootDev()
	if err != nil {
		return p, err
	}
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	node := filepath.Join(d.sys, "dev", "block", fmt.Sprintf("%d:%d", major, minor))
	uevent, err := os.ReadFile(filepath.Join(node, "uevent"))
	if err != nil {
		return p, fmt.Errorf("the root file system is not on a block device partition: %w", err)
	}
	for _, line := range strings.Split(string(uevent), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "DEVNAME":
			p.RunningName = v
		case "PARTN":
			p.Running, _ = strconv.Atoi(v)
		}
	}
	if p.RunningName == "" || p.Running == 0 {
		return p, fmt.Errorf("%s: the root file system is not on a partition (no DEVNAME or PARTN)", node)
	}
	// /sys/dev/block/254:3 → …/block/vda/vda3: the parent is the disk.
	target, err := filepath.EvalSymlinks(node)
	if err != nil {
		return p, fmt.Errorf("find the disk of %s: %w", p.RunningName, err)
	}
	p.Disk = filepath.Base(filepath.Dir(target))

	b, err := os.ReadFile(d.cmdline)
	if err != nil {
		return p, fmt.Errorf("read the kernel command line: %w", err)
	}
	p.CmdlineName, p.Cmdline, err = ParseCmdlineRoot(string(b))
	if err != nil {
		return p, err
	}
	if p.Running != 2 && p.Running != 3 {
		return p, fmt.Errorf("the kit runs from %s, which is not a gokrazy root partition (2 or 3)", p.RunningName)
	}
	return p, nil
}

var (
	// The forms gokrazy's rootdev accepts (and /dev/vdaN, which QEMU
	// images could use).
	gptRootRE  = regexp.MustCompile(`(?:^|\s)(?:root|ubd0)=(PARTUUID=[0-9a-fA-F-]+/PARTNROFF=([0-9]+))(?:\s|$)`)
	mbrRootRE  = regexp.MustCompile(`(?:^|\s)(?:root|ubd0)=(PARTUUID=[0-9a-fA-F]+-([0-9]+))(?:\s|$)`)
	pathRootRE = regexp.MustCompile(`(?:^|\s)(?:root|ubd0)=(/dev/[a-z0-9]*?([0-9]+))(?:\s|$)`)
)

// ParseCmdlineRoot returns the root= of a kernel command line and the
// partition number it names, as gokrazy reads it: PARTUUID=<gpt>/PARTNROFF=N
// is partition N+1 (the UUID is the boot partition's), PARTUUID=<mbr>-0N is
// N, /dev/sda2 and /dev/mmcblk0p2 are 2.
func ParseCmdlineRoot(cmdline string) (root string, partition int, err error) {
	cmdline = strings.TrimSpace(cmdline)
	n := -1
	if m := gptRootRE.FindStringSubmatch(cmdline); m != nil {
		root = m[1]
		if off, err := strconv.Atoi(m[2]); err == nil {
			n = off + 1
		}
	} else if m := mbrRootRE.FindStringSubmatch(cmdline); m != nil {
		root = m[1]
		n, _ = strconv.Atoi(m[2])
	} else if m := pathRootRE.FindStringSubmatch(cmdline); m != nil {
		root = m[1]
		n, _ = strconv.Atoi(m[2])
	} else {
		return "", 0, fmt.Errorf("the kernel command line names no root partition gokrazy understands: %q", shorten(cmdline))
	}
	if n != 2 && n != 3 {
		return root, n, fmt.Errorf("the kernel command line's root=%s is partition %d, not a gokrazy root (2 or 3)", root, n)
	}
	return root, n, nil
}
