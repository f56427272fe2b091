// Package procmem reads a process's memory from /proc/PID/status
// (Linux), for the bench programs that report what a portal or a kit
// holds.
package procmem

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Usage is a process's resident memory, in bytes.
type Usage struct {
	RSS int64 // VmRSS: now
	HWM int64 // VmHWM: the most it ever held
	// RssAnon and RssFile split RSS (with RssShmem): anonymous memory
	// (heaps, stacks, buffers), and file pages mapped, mostly the
	// binary's own. 0 when the kernel does not say (before Linux 4.5).
	Anon, File int64
}

// ErrNoField says /proc/PID/status lacks a field (not Linux, or a kernel
// thread).
var ErrNoField = errors.New("no such field")

// Read reads pid's Usage. what names the process in the error when it
// is gone ("roomd", "the portal").
func Read(pid int, what string) (Usage, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	data, err := os.ReadFile(path)
	if err != nil {
		return Usage{}, fmt.Errorf("read %s (did %s exit?): %w", path, what, err)
	}
	u, err := Parse(data)
	if err != nil {
		return Usage{}, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

// Parse reads Usage from the text of a /proc/PID/status file.
func Parse(status []byte) (Usage, error) {
	rss, err := field(status, "VmRSS:")
	if err != nil {
		return Usage{}, err
	}
	hwm, err := field(status, "VmHWM:")
	if err != nil {
		return Usage{}, err
	}
	u := Usage{RSS: rss, HWM: hwm}
	// Optional: their absence is no reason to lose the figures above.
	u.Anon, _ = field(status, "RssAnon:")
	u.File, _ = field(status, "RssFile:")
	return u, nil
}

// field parses a "Name:   123 kB" line.
func field(data []byte, name string) (int64, error) {
	for line := range strings.SplitSeq(string(data), "\n") {
		v, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", name, strings.TrimSpace(v), err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("%s: %w", name, ErrNoField)
}
