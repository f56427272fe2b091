package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"roomkit/internal/procmem"
)

// cpuProc is one process tree whose CPU the load phase is charged:
// a portal, PostgreSQL's postmaster with its backends, the simulator.
type cpuProc struct {
	Name string
	PID  int
}

// parseCPUPIDs reads -cpu-pids: "name=pid,name=pid".
func parseCPUPIDs(s string) ([]cpuProc, error) {
	var out []cpuProc
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, pid, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(pid)
		if !ok || strings.TrimSpace(name) == "" || err != nil || n <= 0 {
			return nil, fmt.Errorf("-cpu-pids %q: want name=pid, comma-separated", part)
		}
		out = append(out, cpuProc{Name: strings.TrimSpace(name), PID: n})
	}
	return out, nil
}

// cpuSnap is the CPU used so far by each process tree and the machine.
type cpuSnap struct {
	procs   []time.Duration // as cpuProcs, the simulator last
	machine time.Duration
}

// snapCPU reads the trees of procs and the simulator's own.
func snapCPU(procs []cpuProc) (cpuSnap, error) {
	pids := []int{os.Getpid()}
	for _, p := range procs {
		pids = append(pids, p.PID)
	}
	t, err := procmem.TreeCPU(pids)
	if err != nil {
		return cpuSnap{}, err
	}
	m, err := procmem.MachineCPU()
	if err != nil {
		return cpuSnap{}, err
	}
	s := cpuSnap{machine: m}
	for _, p := range procs {
		s.procs = append(s.procs, t[p.PID])
	}
	s.procs = append(s.procs, t[os.Getpid()])
	return s, nil
}

// cpuUse is what the load phase cost each process tree.
type cpuUse struct {
	Names   []string        // as cpuProcs, then "simulator"
	Used    []time.Duration // CPU time during the load
	Machine time.Duration   // all the machine's CPUs, busy, during the load
}

func cpuBetween(procs []cpuProc, a, b cpuSnap) cpuUse {
	u := cpuUse{Machine: b.machine - a.machine}
	for i := range b.procs {
		name := "simulator"
		if i < len(procs) {
			name = procs[i].Name
		}
		u.Names = append(u.Names, name)
		u.Used = append(u.Used, b.procs[i]-a.procs[i])
	}
	return u
}

// perBeat is CPU time per heartbeat in microseconds.
func perBeat(d time.Duration, beats int64) float64 {
	if beats <= 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(beats)
}
