package procmem

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// userHZ is the unit of the times in /proc/PID/stat: USER_HZ, which
// Linux fixes at 100 for user space whatever the kernel's own HZ.
const userHZ = 100

// Stat is what the CPU accounting needs from one /proc/PID/stat line.
type Stat struct {
	PID, PPID int
	// CPU is the process's user and system time plus that of its
	// children it has waited for (utime+stime+cutime+cstime): a tree's
	// total counts a backend that exited, which its parent reaped.
	CPU time.Duration
}

// ParseStat reads a /proc/PID/stat line. The command name (field 2) is
// in parentheses and may itself hold spaces and parentheses, so the
// fields are counted from the last ')'.
func ParseStat(line []byte) (Stat, error) {
	open, end := bytes.IndexByte(line, '('), bytes.LastIndexByte(line, ')')
	if open < 1 || end < open {
		return Stat{}, fmt.Errorf("stat line %.40q: no (command)", line)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(line[:open])))
	if err != nil {
		return Stat{}, fmt.Errorf("stat line %.40q: pid: %w", line, err)
	}
	// After ')': state (field 3), ppid (4), …, utime (14), stime (15),
	// cutime (16), cstime (17).
	f := bytes.Fields(line[end+1:])
	if len(f) < 15 {
		return Stat{}, fmt.Errorf("stat line of pid %d: %d fields after the command, want at least 15", pid, len(f))
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return Stat{}, fmt.Errorf("stat line of pid %d: ppid: %w", pid, err)
	}
	var ticks int64
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || n < 0 {
			return Stat{}, fmt.Errorf("stat line of pid %d: CPU time %q", pid, s)
		}
		ticks += n
	}
	return Stat{PID: pid, PPID: ppid, CPU: time.Duration(ticks) * time.Second / userHZ}, nil
}

// TreeCPU is the CPU time used so far by each root in roots and all its
// descendants (a PostgreSQL postmaster and its backends), read from
// /proc. A root that is gone is an error.
func TreeCPU(roots []int) (map[int]time.Duration, error) {
	paths, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var all []Stat
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited since the listing
		}
		if st, err := ParseStat(b); err == nil {
			all = append(all, st)
		}
	}
	return sumTrees(all, roots)
}

// sumTrees adds each root's CPU and its descendants' in procs.
func sumTrees(procs []Stat, roots []int) (map[int]time.Duration, error) {
	byPID := make(map[int]Stat, len(procs))
	for _, st := range procs {
		byPID[st.PID] = st
	}
	out := make(map[int]time.Duration, len(roots))
	for _, r := range roots {
		if _, ok := byPID[r]; !ok {
			return nil, fmt.Errorf("process %d: not running", r)
		}
		out[r] = 0
	}
	for _, st := range procs {
		// Walk up to a root (or to the top); pid 0 and cycles end it.
		for p, hops := st.PID, 0; p > 0 && hops < 64; hops++ {
			if _, ok := out[p]; ok {
				out[p] += st.CPU
				break
			}
			p = byPID[p].PPID
		}
	}
	return out, nil
}

// MachineCPU is the busy time of all the machine's CPUs together so far
// (/proc/stat's first line without idle and iowait), to compare a run's
// processes with what everything else on the machine took.
func MachineCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseMachineCPU(b)
}

func parseMachineCPU(b []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 8 || string(f[0]) != "cpu" {
		return 0, fmt.Errorf("/proc/stat: first line %.60q is not the cpu total", line)
	}
	var busy int64
	for i, s := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %q: %w", s, err)
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / userHZ, nil
}
