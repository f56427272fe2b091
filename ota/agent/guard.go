package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"roomkit/ota/gokrazy"
)

// Guard watches a trial boot from outside roomd (roomctl ota-guard, a
// service of its own in the image). The agent inside roomd judges the
// trial and rolls it back; a roomd that hangs, crashes before its agent
// runs, or never starts cannot. The guard then reboots the kit, which
// returns a trial to the old root (and leaves a switched root as it is).
//
// Rules it keeps:
//   - It acts only in a trial boot: the kit runs from the other root than
//     its command line names, and the agent's state says an update is
//     between its reboot into the trial and its commit (or cannot be
//     read: a reboot is safe either way, a trial returns to the old
//     root and a switched root stays).
//   - It reboots once the trial is not committed by the trial's deadline
//     (the agent's, from its state; else Deadline) plus GuardGrace after
//     the kit booted.
//   - It never reboots while roomd says a meeting runs; a roomd that does
//     not answer shows no meeting.
//   - It reads; the only thing it writes is gokrazy's POST /reboot.
type Guard struct {
	StateDir string          // the agent's (Config.StateDir)
	Gokrazy  *gokrazy.Client // where the kit runs from, and its reboot
	// InMeeting asks roomd whether a meeting runs; an error says roomd
	// could not be asked.
	InMeeting func(ctx context.Context) (bool, error)
	// Uptime is how long ago the kit booted, on a clock NTP does not
	// move (/proc/uptime).
	Uptime func() (time.Duration, error)
	// Deadline is the trial's when the state does not say (0:
	// DefaultDeadline).
	Deadline time.Duration
	Log      *slog.Logger

	after func(time.Duration) <-chan time.Time // tests: a fake clock
	told  bool                                 // the wait for a meeting was logged
}

// GuardGrace is how long after the trial's own deadline the guard steps
// in: the agent, when it runs, rolls back first.
const GuardGrace = 5 * time.Minute

const (
	guardTick = 30 * time.Second // in a trial
	guardIdle = 10 * time.Minute // no trial: nothing can start one before a reboot
)

// trialPhases are the phases from the reboot into a trial to its commit.
var trialPhases = []phase{phaseTestbootSet, phaseRebooting, phaseTrial, phaseSwitching}

// Run guards until ctx ends (nil), or until gokrazy accepted the reboot
// it asked for (nil; gokrazy then stops the services, the guard too).
func (g *Guard) Run(ctx context.Context) error {
	if g.Gokrazy == nil || g.InMeeting == nil || g.Uptime == nil {
		return errors.New("update guard: Gokrazy, InMeeting and Uptime are required")
	}
	if g.Log == nil {
		g.Log = slog.Default()
	}
	if g.after == nil {
		g.after = time.After
	}
	for {
		wait, rebooted := g.step(ctx)
		if rebooted {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-g.after(wait):
		}
	}
}

// step looks once and says how long to sleep, or that the kit reboots.
func (g *Guard) step(ctx context.Context) (time.Duration, bool) {
	version, deadline, ok := g.trial()
	if !ok {
		return guardIdle, false
	}
	up, err := g.Uptime()
	if err != nil {
		g.Log.Error("update guard: how long ago the kit booted is unknown", "err", err)
		return guardTick, false
	}
	if left := deadline + GuardGrace - up; left > 0 {
		return min(left, guardTick), false
	}
	meeting, err := g.InMeeting(ctx)
	if err == nil && meeting {
		if !g.told {
			g.Log.Warn("update guard: the trial boot is overdue; waiting for the meeting to end", "version", version)
			g.told = true
		}
		return guardTick, false
	}
	why := fmt.Sprintf("the trial boot of %s is not committed %s after the kit started", version, secs(up))
	if err != nil {
		why += fmt.Sprintf(" and roomd does not answer (%v)", err)
	}
	g.Log.Warn("update guard: restarting the kit, back to the previous version", "why", why)
	if err := g.Gokrazy.Reboot(ctx); err != nil {
		g.Log.Error("update guard: gokrazy could not restart the kit", "err", err)
		return guardTick, false
	}
	return 0, true
}

// trial says whether the kit is in a trial boot, of which version and
// with which deadline. Unknown partitions are no trial: the guard
// reboots only what it knows to be one.
func (g *Guard) trial() (version string, deadline time.Duration, ok bool) {
	p, err := g.Gokrazy.Partitions()
	if err != nil || !p.Moved() {
		return "", 0, false
	}
	s, err := store{dir: g.StateDir}.load()
	if err != nil {
		g.Log.Error("update guard: the update state is unreadable during a moved boot", "err", err)
		return "an update", g.deadline(0), true
	}
	if s.Target == nil || !slices.Contains(trialPhases, s.Phase) {
		return "", 0, false // committed, or switched before this boot
	}
	return s.Target.Version, g.deadline(s.TrialDeadline), true
}

func (g *Guard) deadline(stateSeconds int) time.Duration {
	switch {
	case stateSeconds > 0:
		return time.Duration(stateSeconds) * time.Second
	case g.Deadline > 0:
		return g.Deadline
	}
	return DefaultDeadline
}
