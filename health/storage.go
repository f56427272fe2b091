package health

import (
	"fmt"
	"time"
)

// Free space below either threshold is degraded: the state files are
// small, but a /perm that fills (logs, a downloaded update) makes the
// next atomic write fail, and that write may be the pairing.
const (
	LowSpaceBytes   = 64 << 20
	LowSpacePercent = 5
)

// Space is a file system's size and what is left of it.
type Space struct {
	Total, Free uint64 // bytes; Free is what an unprivileged writer may use
	ReadOnly    bool
}

// StorageState is the kit's state directory.
type StorageState struct {
	Dir string
	// Unusable is why the kit runs from memory (it could not use Dir at
	// start); nil when it uses Dir.
	Unusable error
}

// Storage checks the kit's state directory (/perm): usable, writable and
// not full. probe nil: the system's (statfs and access(2)).
func Storage(state func() StorageState, probe func(dir string) (Space, error)) *Check {
	if probe == nil {
		probe = SystemSpace
	}
	return New(NameStorage, func(time.Time) Result {
		st := state()
		if st.Unusable != nil {
			return Fail("%s is not usable, the kit runs from memory and keeps nothing (%v)", st.Dir, st.Unusable)
		}
		sp, err := probe(st.Dir)
		switch {
		case err != nil:
			return Fail("%s: %v", st.Dir, err)
		case sp.ReadOnly:
			return Fail("%s is read-only: nothing the kit learns is kept", st.Dir)
		case sp.Free < LowSpaceBytes || sp.Total > 0 && sp.Free*100 < sp.Total*LowSpacePercent:
			return Degrade("%s is nearly full: %s free of %s", st.Dir, Bytes(sp.Free), Bytes(sp.Total))
		}
		return Pass("%s free of %s", Bytes(sp.Free), Bytes(sp.Total))
	})
}

// Bytes says a size in the units people read on a disk: "1.2 GB", "40 MB".
func Bytes(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%d MB", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%d kB", n/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
