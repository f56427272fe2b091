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
	anon     []int64 // RssAnon, bytes: what the code holds
	file     []int64 // RssFile, bytes: the binary's pages, mostly (see printTable)
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
		s.anon, s.file = append(s.anon, u.Anon), append(s.file, u.File)
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

// printTable prints RSS and its split. The file-backed part is mostly
// the binary's text and read-only data, and how much of it counts depends
// on the host more than on the code: a page cache that holds the binary in
// huge pages maps them whole (FilePmdMapped in /proc/PID/smaps_rollup).
// Compare the anonymous figures between builds.
func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "participants\tseconds\tRSS p50 (MB)\tRSS max (MB)\tHWM (MB)\tanon p50 (MB)\tfile p50 (MB)\tpictures (min)\t")
	for _, r := range rows {
		sorted := slices.Sorted(slices.Values(r.s.rss))
		pics := "-"
		if r.s.pictures >= 0 {
			pics = strconv.Itoa(r.s.pictures)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t\n", r.what, len(sorted),
			mb(sorted[len(sorted)/2]), mb(sorted[len(sorted)-1]), mb(r.s.hwm), mb(median(r.s.anon)), mb(median(r.s.file)), pics)
	}
	tw.Flush()
}

func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	return slices.Sorted(slices.Values(v))[len(v)/2]
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
