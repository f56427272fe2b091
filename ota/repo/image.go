package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"roomkit/images/disk"
	"strings"
	"time"
)

// squashfsMagic opens every squashfs superblock.
const squashfsMagic = "hsqs"

// rootAlign is mksquashfs's padding: a root is published up to the next
// 4 KiB after the filesystem's bytes_used.
const rootAlign = 4096

// section is the part of an image file that is published.
type section struct {
	offset, length int64
	what           string // for messages: "the root partition of a disk image", ...
}

// rootSection finds the root squashfs in an amd64/rpi4 image: the file
// itself when it is a squashfs, else the first root partition (p2) of a
// kit disk image.
func rootSection(f io.ReaderAt, size int64, name string) (section, error) {
	magic := make([]byte, 4)
	if _, err := f.ReadAt(magic, 0); err != nil {
		return section{}, fmt.Errorf("%s is too short to be a kit image or root (%d bytes)", name, size)
	}
	if string(magic) == squashfsMagic {
		n, err := squashfsLength(f, 0, size, name)
		if err != nil {
			return section{}, err
		}
		return section{0, n, "a squashfs root"}, nil
	}
	l, err := disk.ReadLayout(f, size)
	if err != nil {
		return section{}, fmt.Errorf("%s is neither a squashfs root nor a kit disk image (%v)", name, err)
	}
	p := l.Partitions[1]
	if _, err := f.ReadAt(magic, p.Offset); err != nil || string(magic) != squashfsMagic {
		return section{}, fmt.Errorf("%s is a disk image but its root partition (p2) holds no squashfs", name)
	}
	n, err := squashfsLength(f, p.Offset, p.Offset+p.Size, name)
	if err != nil {
		return section{}, err
	}
	return section{p.Offset, n, "the root partition of a disk image"}, nil
}

// squashfsLength reads the superblock's bytes_used at off and rounds it
// up to rootAlign; end is where the space holding it ends.
func squashfsLength(f io.ReaderAt, off, end int64, name string) (int64, error) {
	sb := make([]byte, 96)
	if _, err := f.ReadAt(sb, off); err != nil {
		return 0, fmt.Errorf("%s: squashfs superblock: %w", name, err)
	}
	used := int64(binary.LittleEndian.Uint64(sb[40:]))
	if used <= 0 || used > end-off {
		return 0, fmt.Errorf("%s: the squashfs says it is %d bytes long, but only %d are there: the file is truncated or damaged", name, used, end-off)
	}
	// Partitions are 4 KiB aligned, so the rounded length still fits one;
	// a bare file made with -nopad is padded with zeros by section.reader.
	return (used + rootAlign - 1) / rootAlign * rootAlign, nil
}

// reader returns the section's bytes, padded with zeros to its length when
// the file ends before (a squashfs made with -nopad).
func (s section) reader(f io.ReaderAt, size int64) io.Reader {
	avail := min(s.length, size-s.offset)
	r := io.NewSectionReader(f, s.offset, avail)
	if avail == s.length {
		return r
	}
	return io.MultiReader(r, io.LimitReader(zeros{}, s.length-avail))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// rootInfo is what a root says about itself.
type rootInfo struct {
	Version, Target, Kernel, Hostname string
}

// errNoUnsquashfs reports that the root's contents cannot be read here.
var errNoUnsquashfs = errors.New("unsquashfs is not installed (Debian: squashfs-tools)")

// readRootInfo reads /etc/gokrazy/sbom.json, /etc/hostname and the
// /lib/modules directory name from a squashfs file.
func readRootInfo(path string) (rootInfo, error) {
	var info rootInfo
	if _, err := exec.LookPath("unsquashfs"); err != nil {
		return info, errNoUnsquashfs
	}
	b, err := unsquashfs(path, "-cat", path, "etc/gokrazy/sbom.json")
	if err != nil {
		return info, fmt.Errorf("the root has no readable /etc/gokrazy/sbom.json (%v): is it a RoomKit root?", err)
	}
	var sbom struct {
		SBOM struct {
			Version string `json:"version"`
			Target  string `json:"target"`
		} `json:"sbom"`
	}
	if err := json.Unmarshal(b, &sbom); err != nil {
		return info, fmt.Errorf("the root's /etc/gokrazy/sbom.json is not JSON: %v", err)
	}
	info.Version, info.Target = sbom.SBOM.Version, sbom.SBOM.Target
	if b, err := unsquashfs(path, "-cat", path, "etc/hostname"); err == nil {
		info.Hostname = strings.TrimSpace(string(b))
	}
	if b, err := unsquashfs(path, "-l", "-max-depth", "3", path, "lib/modules"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, ok := strings.CutPrefix(l, "squashfs-root/lib/modules/"); ok && k != "" && !strings.Contains(k, "/") {
				info.Kernel = k
				break
			}
		}
	}
	return info, nil
}

func unsquashfs(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unsquashfs", append([]string{"-n"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("unsquashfs %s: %s", name, msg)
	}
	return out, nil
}

// fileSize returns the size of a regular file, or -1 for a pipe.
func fileSize(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return -1, nil
	}
	return st.Size(), nil
}
