package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"roomkit/internal/procmem"
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
		u, err := procmem.Read(pid, "roomd")
		if err != nil {
			return s, err
		}
		s.rss, s.hwm = append(s.rss, u.RSS), u.HWM
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
