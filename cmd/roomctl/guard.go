package main

// roomctl ota-guard: the update guard (ota/agent.Guard) as a service of
// its own in the image, next to roomd, so that a trial boot whose roomd
// hangs or never starts still returns to the old root.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"roomkit/appliance"
	"roomkit/appliance/control"
	"roomkit/ota/agent"
	"roomkit/ota/gokrazy"
)

// askRoomd bounds one status question: a roomd that takes longer is as
// good as one that does not answer.
const askRoomd = 10 * time.Second

func runGuard(addr, stateDir string, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("ota-guard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	deadline := fs.Duration("deadline", 0, "the trial boot's deadline when the update state does not say (roomd's -ota-deadline; default 10m)")
	otaState := fs.String("ota-state", "", "the update agent's state directory (default: the -state directory's ota/)")
	socket := fs.String("gokrazy", gokrazy.Socket, "gokrazy's local API socket")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: ota-guard: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: ota-guard takes flags only, got %q", errUsage, fs.Args())
	}
	dir := *otaState
	if dir == "" {
		dir = filepath.Join(stateDir, "ota")
	}
	g := &agent.Guard{
		StateDir:  dir,
		Gokrazy:   gokrazy.New(*socket),
		InMeeting: roomdInMeeting(addr, stateDir),
		Uptime:    uptime("/proc/uptime"),
		Deadline:  *deadline,
		Log:       slog.New(slog.NewTextHandler(stderr, nil)),
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return g.Run(ctx)
}

// roomdInMeeting asks roomd's control API whether the kit is in a
// meeting. The credential is read on every question: roomd makes it on
// its first start, which may come after the guard's.
func roomdInMeeting(addr, stateDir string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		c, err := control.Dial(addr, stateDir)
		if err != nil {
			return false, err
		}
		ctx, cancel := context.WithTimeout(ctx, askRoomd)
		defer cancel()
		st, err := c.Status(ctx)
		if err != nil {
			return false, err
		}
		return st.State == appliance.InMeeting || st.Meeting != nil, nil
	}
}

// uptime reads how long ago the kit booted from path (/proc/uptime): a
// clock that NTP setting the wall clock does not move.
func uptime(path string) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, err
		}
		return parseUptime(string(b))
	}
}

// parseUptime reads /proc/uptime's first field, seconds since boot:
// "5236.08 20563.95\n".
func parseUptime(s string) (time.Duration, error) {
	f, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	secs, err := strconv.ParseFloat(f, 64)
	if err != nil || !(secs >= 0 && secs <= 1e9) { // NaN too
		return 0, fmt.Errorf("/proc/uptime says %q, not seconds since boot", shorten(s))
	}
	return time.Duration(secs * float64(time.Second)), nil
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
