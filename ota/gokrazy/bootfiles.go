package gokrazy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// gokrazy edits the boot partition's command line files in place, inside
// each file's extent on the FAT, never changing a file's length: testboot
// replaces every newline with " gokrazy.try_boot_inactive=1\n", the trial
// boot's init turns that marker into "gokrazy.switch_on_boot=1" (padding
// the shorter line with spaces before the newline), and a switch rewrites
// root=. Nothing ever removes a marker, so each update eats into the
// padding after the newline until the newline falls off the file's end;
// from then on testboot finds no newline and silently changes nothing.
// CleanBootFiles undoes the markers before each testboot.

// The markers gokrazy adds to the command line files.
const (
	TryMarker    = "gokrazy.try_boot_inactive=1"
	SwitchMarker = "gokrazy.switch_on_boot=1"
)

// BootFiles are the boot partition's files gokrazy edits; the second may be
// missing (Raspberry Pi images have no systemd-boot).
var BootFiles = []string{"/cmdline.txt", "/loader/entries/gokrazy.conf"}

// CleanBootFile returns b in the clean form: the command line without
// gokrazy's markers, a newline, and spaces up to len(b). The command line
// is everything before the first newline (all of b when the newline fell
// off the end; a marker cut short there is dropped too); only spaces may
// follow the newline. Arguments are rejoined with single spaces. It fails,
// and the caller writes nothing, when the clean command line does not name
// root=root (the committed root, as root= spells it) or when the newline
// does not fit.
func CleanBootFile(b []byte, root string) ([]byte, error) {
	line, rest, hasNL := bytes.Cut(b, []byte{'\n'})
	if hasNL && len(bytes.TrimLeft(rest, " ")) != 0 {
		return nil, fmt.Errorf("the command line file has more than padding after its first line: %q", shorten(string(rest)))
	}
	fields := strings.Split(string(line), " ")
	var keep []string
	for i, f := range fields {
		if f == "" || f == TryMarker || f == SwitchMarker {
			continue
		}
		if !hasNL && i == len(fields)-1 && (strings.HasPrefix(TryMarker, f) || strings.HasPrefix(SwitchMarker, f)) {
			continue // a marker cut short by the file's end
		}
		keep = append(keep, f)
	}
	clean := strings.Join(keep, " ")
	got, _, err := ParseCmdlineRoot(clean)
	if err != nil {
		return nil, fmt.Errorf("cleaning the boot command line: %w", err)
	}
	if got != root {
		return nil, fmt.Errorf("the boot command line names root=%s, not the committed root=%s: left as it is", got, root)
	}
	if len(clean)+1 > len(b) {
		return nil, fmt.Errorf("the boot command line (%d bytes) leaves no room for its newline in a %d-byte file", len(clean), len(b))
	}
	out := bytes.Repeat([]byte{' '}, len(b))
	copy(out, clean+"\n")
	return out, nil
}

// CleanBootDevice cleans BootFiles (CleanBootFile) on the boot FAT at path,
// a block device or an image file, in place within each file's extent as
// gokrazy edits them (found by 8.3 names, as gokrazy's FAT reader finds
// them), and syncs. It checks every file before it writes
// any; an already clean file is not written. It reports whether it wrote.
func CleanBootDevice(path, root string) (changed bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("open the boot partition: %w", err)
	}
	defer f.Close()
	type edit struct {
		off int64
		b   []byte
	}
	var edits []edit
	for i, name := range BootFiles {
		off, n, err := fileExtent(f, name)
		if err != nil {
			if i > 0 {
				continue // gokrazy skips a missing loader entry too
			}
			return false, fmt.Errorf("find %s on the boot partition: %w", name, err)
		}
		b := make([]byte, n)
		if _, err := f.ReadAt(b, off); err != nil {
			return false, fmt.Errorf("read %s on the boot partition: %w", name, err)
		}
		clean, err := CleanBootFile(b, root)
		if err != nil {
			return false, fmt.Errorf("%s: %w", name, err)
		}
		if !bytes.Equal(clean, b) {
			edits = append(edits, edit{off, clean})
		}
	}
	for _, e := range edits {
		if _, err := f.WriteAt(e.b, e.off); err != nil {
			return false, fmt.Errorf("write the boot partition: %w", err)
		}
	}
	if len(edits) == 0 {
		return false, nil
	}
	if err := f.Sync(); err != nil {
		return true, fmt.Errorf("sync the boot partition: %w", err)
	}
	return true, f.Close()
}

// errMoved refuses to clean while the kit runs from another root than the
// command line names: the boot files then name a root whose fate is not
// decided (a trial boot) or not yet booted (a switch).
var errMoved = errors.New("the kit runs from another root than its command line names (a trial boot, or switched and not yet rebooted): the boot files are cleaned after the next reboot")

// CleanBootFiles removes gokrazy's markers from the boot partition's
// command line files (CleanBootDevice), so that the next testboot has
// room for its own: call it right before TestBoot. It refuses during a
// trial boot and after a switch until the next reboot, and whenever the
// files would not name the root the kit runs from.
func (c *Client) CleanBootFiles() error {
	p, err := c.disk.Partitions()
	if err != nil {
		return fmt.Errorf("before cleaning the boot files: %w", err)
	}
	if p.Moved() {
		return fmt.Errorf("%w (running %s, command line %s)", errMoved, p.RunningName, p.CmdlineName)
	}
	return c.disk.CleanBoot(p.CmdlineName)
}

func (d localDisk) CleanBoot(root string) error {
	p, err := d.Partitions()
	if err != nil {
		return err
	}
	_, err = CleanBootDevice(p.Device(1), root)
	return err
}
