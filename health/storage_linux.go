//go:build linux

package health

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// SystemSpace asks the kernel about dir's file system: its size and free
// space (statfs), whether it is mounted read-only, and whether this
// process may write in dir (access(2), which also sees permissions). It
// writes nothing: the check runs with every heartbeat and on every
// Settings frame, and flash wears.
func SystemSpace(dir string) (Space, error) {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return Space{}, fmt.Errorf("cannot check the file system (%w)", err)
	}
	sp := Space{
		Total:    fs.Blocks * uint64(fs.Bsize),
		Free:     fs.Bavail * uint64(fs.Bsize),
		ReadOnly: fs.Flags&unix.ST_RDONLY != 0,
	}
	if !sp.ReadOnly {
		if err := unix.Access(dir, unix.W_OK); err != nil {
			return sp, fmt.Errorf("not writable (%w)", err)
		}
	}
	return sp, nil
}
