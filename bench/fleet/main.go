// Command fleet simulates a fleet of room kits against one or more
// portal replicas. Each kit is a goroutine with its own Ed25519 identity
// that speaks the kit's protocol through the appliance's own client
// (portalapi): it pairs (device authorization, an admin entering its
// code through the admin API, the token poll with a client assertion),
// then sends heartbeats with its health tree's summary, refreshes its
// token with client assertions, and now and then presses Meet Now.
// Requests go to the replicas in turn, with no stickiness.
//
// Two ways to load the portal after pairing:
//
//	-duration 20s [-rate R]  sustained heartbeats (R a second over the fleet; 0: as fast as it takes them)
//	-replay 24h              the heartbeats and events 24 h at -interval make, as fast as the portal takes them
//
// Latency is a request's round trip from the kit's send to its answer; a
// kit waiting for one of the -inflight slots is not counted in it, so a
// portal that cannot keep up with -rate shows as heartbeats/s below the
// target rather than as latency.
//
// It prints a table: time to pair, heartbeats/s, latency, errors by kind,
// the simulator's memory, and the database's size (the portal's
// portal_store_bytes metric, or -portal-data for a SQLite portal here).
//
//	go run ./bench/fleet -portal http://127.0.0.1:18080 -token rka_… -kits 1000 -duration 20s
//
// bench/fleet.sh starts a throw-away portal and runs this against it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"roomkit/internal/clock"
	"roomkit/internal/procmem"
)

func main() {
	opt := options{Habits: defaultHabits}
	flag.StringVar(&opt.Portal, "portal", "http://127.0.0.1:8080", "portal base URL, or several replicas' comma-separated (requests spread over them, no stickiness)")
	flag.StringVar(&opt.AdminToken, "token", "", "admin API token (portal token create)")
	flag.IntVar(&opt.Kits, "kits", 1000, "kits to simulate")
	flag.IntVar(&opt.Sources, "sources", 0, "loopback source addresses the kits speak from (127.1.x.y, which Linux answers on; 0: one per 50 kits for a portal on loopback, else 1; 1 on systems with only 127.0.0.1)")
	flag.IntVar(&opt.PairConc, "pair-concurrency", 16, "pairings in progress at once")
	flag.IntVar(&opt.Inflight, "inflight", 4*runtime.GOMAXPROCS(0), "kit requests in progress at once")
	flag.DurationVar(&opt.Duration, "duration", 20*time.Second, "sustained phase: how long to send heartbeats")
	flag.Float64Var(&opt.Rate, "rate", 0, "sustained phase: target heartbeats a second over the fleet (0: as fast as the portal takes them)")
	flag.DurationVar(&opt.Replay, "replay", 0, "instead of the sustained phase, replay this much simulated time (e.g. 24h): every kit sends the heartbeats it would send in it at -interval, as fast as the portal takes them")
	flag.DurationVar(&opt.Habits.Interval, "interval", defaultHabits.Interval, "the kits' heartbeat interval (what a simulated heartbeat stands for)")
	flag.Float64Var(&opt.Habits.MeetingsPerDay, "meetings-per-day", defaultHabits.MeetingsPerDay, "Meet Now presses per room per simulated day")
	flag.Float64Var(&opt.Habits.UnplugsPerDay, "unplugs-per-day", defaultHabits.UnplugsPerDay, "device unplugs (and returns) per room per simulated day")
	flag.Float64Var(&opt.Habits.RestartsPerDay, "restarts-per-day", defaultHabits.RestartsPerDay, "roomd restarts per room per simulated day")
	flag.DurationVar(&opt.Timeout, "timeout", 30*time.Second, "per request")
	flag.BoolVar(&opt.Cleanup, "cleanup", true, "unpair the kits at the end (after the database was measured)")
	flag.DurationVar(&opt.Settle, "settle", 1500*time.Millisecond, "wait this long after the load before measuring the database (the portal writes heartbeats in a batch a second)")
	portalData := flag.String("portal-data", "", "a SQLite portal's -data directory on this machine, to measure its database when the portal does not report it")
	portalPID := flag.Int("portal-pid", 0, "the portal's process ID on this machine, to report its memory")
	cpuPIDs := flag.String("cpu-pids", "", "processes on this machine to charge the load phase's CPU to, as name=pid,name=pid (a process's children count as its own: give PostgreSQL's postmaster); the simulator's own is always reported")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "fleet: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cpu, err := parseCPUPIDs(*cpuPIDs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(2)
	}
	if err := run(ctx, opt, *portalData, *portalPID, cpu, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

// run pairs the fleet, loads the portal, measures and prints the table.
// A run in which every heartbeat failed is an error; some failures are
// the table's to report.
func run(ctx context.Context, opt options, portalData string, portalPID int, cpu []cpuProc, out, progress io.Writer) error {
	s, err := newSim(opt)
	if err != nil {
		return err
	}
	s.progress = progress
	heap0 := heapAfterGC()
	var rss0 int64
	if portalPID > 0 {
		u, err := procmem.Read(portalPID, "the portal")
		if err != nil {
			return err
		}
		rss0 = u.RSS
	}
	fmt.Fprintf(progress, "pairing %d kits through %d portal(s) from %d source address(es)…\n", opt.Kits, len(s.reps.bases), s.opt.Sources)
	pairTime, err := s.pairAll(ctx)
	if err != nil {
		return err
	}
	heap := heapAfterGC()
	db0, _ := s.dbSize(ctx, portalData)
	mode := fmt.Sprintf("sustained %v at %s", opt.Duration, rateWords(opt.Rate))
	if opt.Replay > 0 {
		mode = fmt.Sprintf("replay of %v at a %v interval, as fast as the portal takes it", opt.Replay, opt.Habits.Interval)
	}
	fmt.Fprintf(progress, "paired %d kits in %v; %s…\n", len(s.kits), pairTime.Round(time.Millisecond), mode)
	cpu0, cpuErr := snapCPU(cpu)
	lr := s.load(ctx)
	var use *cpuUse
	if cpuErr == nil {
		var cpu1 cpuSnap
		if cpu1, cpuErr = snapCPU(cpu); cpuErr == nil {
			u := cpuBetween(cpu, cpu0, cpu1)
			use = &u
		}
	}
	if cpuErr != nil {
		fmt.Fprintln(progress, "fleet: CPU accounting:", cpuErr)
	}
	sm := summary{
		Replicas: len(s.reps.bases), Kits: opt.Kits, Paired: len(s.kits), Sources: s.opt.Sources, PairTime: pairTime,
		Load: lr, Mode: mode, HB: &s.hb, Pair: &s.pairing, Meet: &s.meet, Errors: map[string][]kindCount{},
		Refreshes: s.refreshes.Load(), MeetingsOff: s.meetingsOff.Load(), ClientHeap: heap, ClientHeap0: heap0, PortalRSS0: rss0, DBBytes0: db0,
		CPU: use,
	}
	for op, e := range s.errs {
		sm.Errors[op] = e.sorted()
	}
	if portalPID > 0 {
		if u, err := procmem.Read(portalPID, "the portal"); err != nil {
			fmt.Fprintln(progress, "fleet:", err)
		} else {
			sm.PortalRSS = u.RSS
		}
	}
	// The database after the load, before any cleanup, once the
	// portal's last heartbeat batch is written.
	if err := clock.Sleep(ctx, opt.Settle); err != nil {
		return err
	}
	sm.DBBytes, sm.DBSource = s.dbSize(ctx, portalData)
	sm.print(out)
	if opt.Cleanup {
		fmt.Fprintf(progress, "unpairing %d kits…\n", len(s.kits))
		if err := s.unpairAll(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
	if lr.Heartbeats == 0 {
		return fmt.Errorf("no heartbeat was answered; the first error: %s", s.firstError(opHeartbeat))
	}
	return nil
}

func rateWords(r float64) string {
	if r == 0 {
		return "the portal's pace (no target rate)"
	}
	return fmt.Sprintf("a target of %.0f heartbeats/s", r)
}
