package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// samples is a second-by-second record of a process's memory.
type samples struct {
	rss      []int64 // VmRSS, bytes
	hwm      int64   // VmHWM (peak RSS) at the end, bytes
	pictures int     // the fewest pictures shown while sampling; -1 if not counted
}

// sample reads /proc/pid/status once a second for n seconds. pictures,
// if not nil, says how many pictures roomd shows, so the table says
// whether it kept decoding them all.
func sample(pid, n int, pictures func() (int, error)) (samples, error) {
	s := samples{pictures: -1}
	for i := range n {
		if i > 0 {
			time.Sleep(time.Second)
		}
		rss, hwm, err := procMemory(pid)
		if err != nil {
			return s, err
		}
		s.rss, s.hwm = append(s.rss, rss), hwm
		if pictures != nil {
			p, err := pictures()
			if err != nil {
				return s, fmt.Errorf("roomd status: %w", err)
			}
			if s.pictures < 0 || p < s.pictures {
				s.pictures = p
			}
		}
	}
	return s, nil
}

// procMemory reads VmRSS and VmHWM of pid.
func procMemory(pid int) (rss, hwm int64, err error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read %s (did roomd exit?): %w", path, err)
	}
	rss, err = statusField(data, "VmRSS:")
	if err == nil {
		hwm, err = statusField(data, "VmHWM:")
	}
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return rss, hwm, nil
}

// statusField parses a "Name:   123 kB" line of /proc/pid/status.
func statusField(data []byte, name string) (int64, error) {
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
	return 0, fmt.Errorf("%s: %w", name, errNoField)
}

type row struct {
	what string
	s    samples
}

func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "participants\tseconds\tRSS p50 (MB)\tRSS max (MB)\tHWM (MB)\tpictures (min)\t")
	for _, r := range rows {
		sorted := slices.Sorted(slices.Values(r.s.rss))
		pics := "-"
		if r.s.pictures >= 0 {
			pics = strconv.Itoa(r.s.pictures)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%s\t\n", r.what, len(sorted),
			mb(sorted[len(sorted)/2]), mb(sorted[len(sorted)-1]), mb(r.s.hwm), pics)
	}
	tw.Flush()
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
