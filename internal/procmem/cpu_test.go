package procmem

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tail := " 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
	for _, tc := range []struct {
		name, line string
		want       Stat
		bad        bool
	}{
		{name: "plain", line: "4242 (portal) S 17 4242 17 0 -1 4194560 1 0 0 0 150 25 3 2 20 0" + tail,
			want: Stat{PID: 4242, PPID: 17, CPU: 1800 * time.Millisecond}},
		{name: "command with spaces and parentheses", line: "9 (post (gres): x) R 1 9 1 0 -1 0 0 0 0 0 100 0 0 0 20 0" + tail,
			want: Stat{PID: 9, PPID: 1, CPU: time.Second}},
		{name: "no command", line: "9 post R 1", bad: true},
		{name: "short", line: "9 (x) R 1 2 3", bad: true},
		{name: "pid not a number", line: "x9 (x) R 1 9 1 0 -1 0 0 0 0 0 1 0 0 0 20 0" + tail, bad: true},
		{name: "negative time", line: "9 (x) R 1 9 1 0 -1 0 0 0 0 0 -1 0 0 0 20 0" + tail, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tc.line))
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseStat = %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseStat = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestSumTrees(t *testing.T) {
	procs := []Stat{
		{PID: 1, PPID: 0, CPU: time.Hour},
		{PID: 10, PPID: 1, CPU: time.Second},      // postmaster
		{PID: 11, PPID: 10, CPU: 2 * time.Second}, // backend
		{PID: 12, PPID: 11, CPU: 4 * time.Second}, // its child
		{PID: 20, PPID: 1, CPU: 8 * time.Second},  // portal
		{PID: 30, PPID: 1, CPU: 16 * time.Second}, // not asked for
	}
	got, err := sumTrees(procs, []int{10, 20})
	if err != nil {
		t.Fatal(err)
	}
	if got[10] != 7*time.Second || got[20] != 8*time.Second || len(got) != 2 {
		t.Fatalf("sumTrees = %v", got)
	}
	if _, err := sumTrees(procs, []int{99}); err == nil {
		t.Fatal("a root not running: no error")
	}
}

func TestParseMachineCPU(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	got, err := parseMachineCPU([]byte("cpu  100 50 30 1000 7 2 3 5 40 0\ncpu0 1 2 3 4\n"))
	if err != nil || got != 1900*time.Millisecond {
		t.Fatalf("parseMachineCPU = %v, %v; want 1.9s", got, err)
	}
	if _, err := parseMachineCPU([]byte("intr 1 2 3\n")); err == nil {
		t.Fatal("not the cpu line: no error")
	}
}

func TestTreeCPUSelf(t *testing.T) {
	got, err := TreeCPU([]int{os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[os.Getpid()]; !ok {
		t.Fatalf("TreeCPU = %v, no entry for this process", got)
	}
}
