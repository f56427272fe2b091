package agent

import (
	"os"
	"strings"
)

// kernelRelease is the running kernel's release (uname -r), the name of
// its /lib/modules directory, which a release's Kernel must match.
func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
