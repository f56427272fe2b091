package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// storeMetric is the portal's gauge of its database's size.
const storeMetric = "portal_store_bytes"

// dbSize asks each replica's /metrics for the database's size (they
// share one database, so the first answer is it). Without the metric
// (an older portal) it sums the SQLite files under dataDir when given.
// It says where the number came from; 0 and "" when nothing knew.
func (s *sim) dbSize(ctx context.Context, dataDir string) (int64, string) {
	for _, b := range s.reps.bases {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.String()+"/metrics", nil)
		if err != nil {
			continue
		}
		req.Header.Set("Authorization", "Bearer "+s.opt.AdminToken)
		// Straight to this replica: not through the spreading transport.
		resp, err := (&http.Client{Timeout: s.opt.Timeout}).Do(req)
		if err != nil {
			continue
		}
		n, ok := gauge(resp.Body, storeMetric)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && ok {
			return n, "portal /metrics " + storeMetric
		}
	}
	if dataDir != "" {
		if n, err := sqliteFiles(dataDir); err == nil {
			return n, "files " + filepath.Join(dataDir, "portal.db*")
		}
	}
	return 0, ""
}

// gauge finds an unlabelled sample of name in a Prometheus text page.
func gauge(r io.Reader, name string) (int64, bool) {
	sc := bufio.NewScanner(io.LimitReader(r, 8<<20))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, false
			}
			return int64(f), true
		}
	}
	return 0, false
}

// sqliteFiles is the size of a SQLite portal's database on disk, its
// write-ahead log included.
func sqliteFiles(dir string) (int64, error) {
	var total int64
	for _, name := range []string{"portal.db", "portal.db-wal"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			if name == "portal.db" {
				return 0, fmt.Errorf("portal database: %w", err)
			}
			continue
		}
		total += st.Size()
	}
	return total, nil
}

// summary is everything one run measured, as the table prints it.
type summary struct {
	Replicas, Kits, Paired, Sources int
	PairTime                        time.Duration
	Load                            loadResult
	Mode                            string // "sustained 20s at max rate", "replay 24h"
	HB, Pair, Meet                  *histogram
	Errors                          map[string][]kindCount
	Refreshes                       int64
	MeetingsOff                     bool
	ClientHeap0, ClientHeap         uint64 // before and after pairing, after a GC
	PortalRSS0, PortalRSS           int64  // before pairing and at the end; 0: not measured
	DBBytes0, DBBytes               int64  // after pairing, after the load
	DBSource                        string
	CPU                             *cpuUse // the load phase's; nil: not measured
}

// print writes the table.
func (sm summary) print(w io.Writer) {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	row("portals", "%d", sm.Replicas)
	row("kits paired", "%d of %d (from %d source addresses)", sm.Paired, sm.Kits, sm.Sources)
	row("time to pair", "%v (%.0f pairings/s; one pairing p50 %v, p99 %v)", sm.PairTime.Round(time.Millisecond),
		rate(int64(sm.Paired), sm.PairTime), round(sm.Pair.quantile(0.5)), round(sm.Pair.quantile(0.99)))
	row("load", "%s, %v", sm.Mode, sm.Load.Elapsed.Round(time.Millisecond))
	if sm.Load.Simulated > 0 {
		row("simulated", "%v of heartbeats per kit at the kits' interval", sm.Load.Simulated)
	}
	row("heartbeats", "%d answered, %d failed", sm.Load.Heartbeats, sm.Load.Failed)
	row("heartbeats/s", "%.0f", rate(sm.Load.Heartbeats, sm.Load.Elapsed))
	row("latency", "p50 %v, p99 %v, max %v", round(sm.HB.quantile(0.5)), round(sm.HB.quantile(0.99)), round(time.Duration(sm.HB.max.Load())))
	switch {
	case sm.MeetingsOff:
		row("meetings", "off on this portal (no LiveKit): none started")
	default:
		row("meetings", "%d started and ended (Meet Now p50 %v, p99 %v)", sm.Load.Meetings, round(sm.Meet.quantile(0.5)), round(sm.Meet.quantile(0.99)))
	}
	row("token refreshes", "%d (client assertions)", sm.Refreshes)
	for _, op := range []string{opPair, opHeartbeat, opRefresh, opMeeting} {
		for _, e := range sm.Errors[op] {
			row("errors: "+op, "%d %s (first: %s)", e.Count, e.Kind, e.First)
		}
	}
	if u := sm.CPU; u != nil {
		var ours time.Duration
		for i, name := range u.Names {
			ours += u.Used[i]
			row("CPU "+name, "%.1f s, %.0f µs per heartbeat", u.Used[i].Seconds(), perBeat(u.Used[i], sm.Load.Heartbeats))
		}
		row("CPU in all", "%.1f s, %.0f µs per heartbeat; the machine's cores were busy %.1f s (the rest: other work)",
			ours.Seconds(), perBeat(ours, sm.Load.Heartbeats), u.Machine.Seconds())
	}
	row("client heap", "%s after pairing (%s per 1,000 kits)", mib(int64(sm.ClientHeap)),
		mib(perThousand(int64(sm.ClientHeap)-int64(sm.ClientHeap0), sm.Paired)))
	if sm.PortalRSS > 0 {
		row("portal RSS", "%s before pairing, %s at the end (%s per 1,000 kits)", mib(sm.PortalRSS0), mib(sm.PortalRSS),
			mib(perThousand(sm.PortalRSS-sm.PortalRSS0, sm.Paired)))
	}
	if sm.DBSource != "" {
		row("database", "%s after the load, %s after pairing (%s)", mib(sm.DBBytes), mib(sm.DBBytes0), sm.DBSource)
	} else {
		row("database", "size unknown: the portal has no %s; give -portal-data DIR for a SQLite portal on this machine", storeMetric)
	}
	tw.Flush()
	w.Write(buf.Bytes())
}

// perThousand scales a growth in bytes over n kits to 1,000 kits.
func perThousand(grew int64, n int) int64 {
	if n <= 0 {
		return 0
	}
	return grew * 1000 / int64(n)
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
