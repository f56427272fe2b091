package images

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"roomkit/images/disk"
	"sort"
	"strings"
)

// permAt names the /perm partition inside a disk or image for e2fsprogs,
// whose unix I/O manager takes "file?offset=N".
func permAt(disk string, p disk.Partition) string {
	return fmt.Sprintf("%s?offset=%d", disk, p.Offset)
}

// FormatPerm makes an empty ext4 file system in the /perm partition of
// disk (an image file or a block device).
func FormatPerm(ctx context.Context, disk string, p disk.Partition) error {
	return run(ctx, []string{"E2FSPROGS_FAKE_TIME=" + fmt.Sprint(epoch)}, "mkfs.ext4",
		"-q", "-F", "-L", "perm", "-U", p.GUID, "-E", fmt.Sprintf("offset=%d,nodiscard", p.Offset),
		disk, fmt.Sprintf("%dk", p.Size/1024))
}

// SeedPerm writes files (paths relative to /perm) into the /perm partition
// of disk, creating their directories, and reads them back to check.
func SeedPerm(ctx context.Context, disk string, p disk.Partition, files map[string][]byte) error {
	tmp, err := os.MkdirTemp("", "roomkit-perm")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var script strings.Builder
	made := map[string]bool{}
	for i, name := range names {
		if strings.ContainsAny(name, " \n\"") || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
			return fmt.Errorf("seed /perm: bad file name %q", name)
		}
		var parts []string
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			parts = append([]string{d}, parts...)
		}
		for _, d := range parts {
			if !made[d] {
				made[d] = true
				fmt.Fprintf(&script, "mkdir /%s\n", d)
			}
		}
		local := filepath.Join(tmp, fmt.Sprint(i))
		if err := os.WriteFile(local, files[name], 0o600); err != nil {
			return err
		}
		// rm first: debugfs's write refuses to replace a file.
		fmt.Fprintf(&script, "rm /%s\nwrite %s /%s\nsif /%s mode 0100600\n", name, local, name, name)
	}
	cmds := filepath.Join(tmp, "cmds")
	if err := os.WriteFile(cmds, []byte(script.String()), 0o600); err != nil {
		return err
	}
	if err := run(ctx, nil, "debugfs", "-w", "-f", cmds, permAt(disk, p)); err != nil {
		return fmt.Errorf("seed /perm: %w", err)
	}
	// debugfs reports most failures on stderr only: check what landed.
	for _, name := range names {
		got, err := ReadPerm(ctx, disk, p, name)
		if err != nil {
			return fmt.Errorf("seed /perm: %w", err)
		}
		if !bytes.Equal(got, files[name]) {
			return fmt.Errorf("seed /perm: /perm/%s reads back different from what was written", name)
		}
	}
	return nil
}

// ReadPerm reads one file (relative to /perm) from disk's /perm partition.
func ReadPerm(ctx context.Context, disk string, p disk.Partition, name string) ([]byte, error) {
	debugfs, err := lookPath("debugfs")
	if err != nil {
		return nil, fmt.Errorf("debugfs: %w (run %s)", err, setupScript)
	}
	tmp, err := os.MkdirTemp("", "roomkit-perm")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "f")
	cmd := exec.CommandContext(ctx, debugfs, "-R", fmt.Sprintf("dump /%s %s", name, out), permAt(disk, p))
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("read /perm/%s: %w\n%s", name, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("read /perm/%s: not found (%s)", name, strings.TrimSpace(string(msg)))
	}
	return b, nil
}
