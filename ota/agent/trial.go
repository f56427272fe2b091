package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"roomkit/health"
	"roomkit/ota"
)

// boot reconciles the recorded phase with what runs now: the trial root,
// the old root after a rollback or a cut, or the new root committed.
func (a *Agent) boot(ctx context.Context) error {
	s := &a.s
	if s.Target == nil {
		if s.Phase != phaseIdle && s.Phase != phaseFailed {
			s.Phase = phaseIdle // a damaged state: nothing to resume
		}
		a.showLast()
		return nil
	}
	v := s.Target.Version
	a.setAvailable(v)
	runsTarget := a.cfg.Version == v
	// Unknown partitions count as a trial still running: the switch then
	// refuses, and the deadline rolls back, rather than a commit that
	// never happened being recorded.
	p, perr := a.gk.Partitions()
	moved := perr != nil || p.Moved()
	a.log.Info("update state at start", "phase", s.Phase, "target", v, "running", a.cfg.Version, "moved", moved, "partitions_err", perr)
	switch s.Phase {
	case phaseTestbootSet, phaseRebooting:
		if runsTarget {
			s.Phase, s.TrialStarted, s.Verdict, s.TrialRestarts = phaseTrial, a.now(), "", 0
			if err := a.save(); err != nil {
				return err
			}
			a.log.Info("trial boot", "version", v)
			a.show(ota.Installing, fmt.Sprintf("trial boot of %s started", v))
			return nil
		}
		if s.Phase == phaseRebooting {
			// Either the reboot never came (a cut just before it) or the
			// trial died before roomd started (panic, hang): count it.
			s.Attempts++
		}
		return a.retryTrial()
	case phaseTrial:
		switch {
		case runsTarget && moved:
			// roomd restarted within the trial: the trial goes on, its
			// deadline counted from the boot; a roomd that keeps
			// crashing is a verdict of its own.
			s.TrialRestarts++
			if s.TrialRestarts >= maxTrialRestarts && s.Verdict == "" {
				s.Verdict = fmt.Sprintf("roomd restarted %d times during the trial boot", s.TrialRestarts)
			}
			if err := a.save(); err != nil {
				return err
			}
			a.show(ota.Installing, fmt.Sprintf("trial boot of %s", v))
			return nil
		case runsTarget:
			s.Phase = phaseCommitted // switched and rebooted
			return a.save()
		case s.Verdict != "":
			return a.rolledBack(s.Verdict)
		}
		s.Attempts++
		return a.retryTrial()
	case phaseSwitching:
		switch {
		case runsTarget && !moved:
			s.Phase = phaseCommitted // the switch landed and the kit rebooted
			return a.save()
		case runsTarget:
			return nil // switch again (gokrazy's switch is idempotent)
		}
		// The trial ended before the switch took: the old root is back.
		s.Attempts++
		return a.retryTrial()
	case phaseCommitted:
		return nil
	}
	a.showLast()
	return nil
}

// showLast shows the outcome of the last update at start.
func (a *Agent) showLast() {
	switch {
	case a.s.Phase == phaseFailed:
		a.show(ota.Failed, a.s.Error)
	case a.s.Last != nil && a.s.Last.Outcome == ota.RolledBack:
		a.show(ota.RolledBack, fmt.Sprintf("%s rolled back: %s", a.s.Last.Version, a.s.Last.Reason))
	default:
		a.show(ota.Idle, fmt.Sprintf("%s", a.cfg.Version))
	}
}

// retryTrial installs the target again, unless its trials keep dying.
func (a *Agent) retryTrial() error {
	v := a.s.Target.Version
	if a.s.Attempts >= maxTrials {
		return a.rolledBack(fmt.Sprintf("%s did not finish its trial boot %d times", v, a.s.Attempts))
	}
	a.s.Phase = phaseDownloaded
	if err := a.save(); err != nil {
		return err
	}
	a.log.Warn("the trial boot did not finish; installing again", "version", v, "attempts", a.s.Attempts)
	a.idle(fmt.Sprintf("%s downloaded; its trial boot did not finish, trying again", v))
	return nil
}

// rolledBack records that the target failed its trial and the kit is on
// the old root: reported, and the version blocked.
func (a *Agent) rolledBack(reason string) error {
	v := a.s.Target.Version
	a.s.Last = &ota.Result{Version: v, Outcome: ota.RolledBack, Reason: oneLine(reason), At: a.now().UTC()}
	a.s.block(v)
	a.clearTarget()
	if err := a.save(); err != nil {
		return err
	}
	a.log.Warn("update rolled back", "version", v, "reason", reason)
	a.show(ota.RolledBack, fmt.Sprintf("%s rolled back: %s", v, reason))
	a.setAvailable("")
	return nil
}

func (a *Agent) clearTarget() {
	s := &a.s
	s.Target, s.Phase, s.Written, s.Attempts, s.Verdict = nil, phaseIdle, 0, 0, ""
	s.TrialStarted, s.Fingerprint, s.InstallNow, s.Error, s.TrialRestarts = time.Time{}, nil, false, "", 0
	s.FailingBefore = nil
	s.TrialDeadline = 0
}

// fail stops the update: [failed] with msg until the next check.
func (a *Agent) fail(msg string) error {
	a.s.Phase, a.s.Error, a.s.Written, a.s.InstallNow = phaseFailed, msg, 0, false
	if err := a.save(); err != nil {
		_, err = a.stateError(err)
		return err
	}
	a.log.Error("update failed", "version", a.s.Target.Version, "err", msg)
	a.show(ota.Failed, msg)
	return nil
}

// judgeTrial watches the kit's health during the trial boot.
func (a *Agent) judgeTrial(ctx context.Context) (time.Duration, error) {
	v := a.s.Target.Version
	now := a.now()
	if a.s.Verdict != "" {
		return a.rollback(ctx)
	}
	problems := trialProblems(a.cfg.Host.Health(now), a.s.Fingerprint, a.s.FailingBefore)
	elapsed := now.Sub(a.s.TrialStarted)
	if len(problems) == 0 {
		if a.healthySince.IsZero() {
			a.healthySince = now
		}
		ok := now.Sub(a.healthySince)
		if ok >= a.cfg.Settle {
			a.s.Phase = phaseSwitching
			if err := a.save(); err != nil {
				return a.stateError(err)
			}
			return 0, nil
		}
		a.show(ota.Installing, fmt.Sprintf("trial boot of %s: healthy for %s of %s", v, secs(ok), secs(a.cfg.Settle)))
		return min(trialTick, a.cfg.Settle-ok), nil
	}
	a.healthySince = time.Time{}
	if elapsed >= a.cfg.Deadline {
		verdict := oneLine(strings.Join(problems, "; "))
		a.s.Verdict = verdict
		if err := a.save(); err != nil {
			return a.stateError(err)
		}
		a.log.Warn("trial boot failed", "version", v, "verdict", verdict)
		return a.rollback(ctx)
	}
	a.show(ota.Installing, fmt.Sprintf("trial boot of %s: not healthy (%s); rolls back in %s",
		v, strings.Join(problems, "; "), secs(a.cfg.Deadline-elapsed)))
	return min(trialTick, a.cfg.Deadline-elapsed), nil
}

// rollback reboots a failed trial into the old root, after any meeting.
func (a *Agent) rollback(ctx context.Context) (time.Duration, error) {
	if !a.rebootAsked.IsZero() && a.now().Sub(a.rebootAsked) < rebootPatience {
		return rebootPatience - a.now().Sub(a.rebootAsked), nil
	}
	v := a.s.Target.Version
	what := fmt.Sprintf("trial boot of %s failed (%s); back to the previous version", v, a.s.Verdict)
	release, ok := a.begin(v, what)
	if !ok {
		a.mu.Lock()
		a.status.State = ota.Installing
		a.mu.Unlock()
		return busyRetry, nil
	}
	return a.reboot(ctx, release, what)
}

// commit makes the trial root permanent; phase switching.
func (a *Agent) commit(ctx context.Context) (time.Duration, error) {
	v := a.s.Target.Version
	if err := a.gk.Switch(ctx); err != nil {
		a.log.Error("switch failed", "version", v, "err", err)
		if a.now().Sub(a.s.TrialStarted) >= a.cfg.Deadline+a.cfg.Settle {
			a.s.Verdict = oneLine(fmt.Sprintf("gokrazy could not make %s permanent: %v", v, err))
			a.s.Phase = phaseTrial
			if err := a.save(); err != nil {
				return a.stateError(err)
			}
			return 0, nil
		}
		a.showError(fmt.Sprintf("gokrazy could not make %s permanent: %v; trying again", v, err))
		return trialTick, nil
	}
	a.s.Phase = phaseCommitted
	if err := a.save(); err != nil {
		return a.stateError(err)
	}
	return 0, a.finish()
}

// finish records a committed update; phase committed.
func (a *Agent) finish() error {
	v := a.s.Target.Version
	now := a.now()
	a.s.Last = &ota.Result{Version: v, Outcome: ota.Healthy, At: now.UTC()}
	if ota.Compare(v, a.s.Floor) > 0 {
		a.s.Floor = v
	}
	a.s.Blocked = slices.DeleteFunc(a.s.Blocked, func(b string) bool { return ota.Compare(b, v) <= 0 })
	a.clearTarget()
	if err := a.save(); err != nil {
		_, err = a.stateError(err)
		return err
	}
	a.log.Info("update committed", "version", v)
	a.nextCheck = now.Add(a.checkInterval())
	a.setAvailable("")
	a.show(ota.Healthy, fmt.Sprintf("%s installed and healthy", v))
	return nil
}

// trialProblems are the reasons the trial root is not healthy: the
// failed checks that had not failed before the update (failingBefore),
// and a camera or speakerphone that was there before the update and is
// not now (or is another one).
func trialProblems(h health.Report, before []device, failingBefore []string) []string {
	var out []string
	if !h.Healthy() {
		for _, p := range h.Problems() {
			if p.Status == health.Failed && !slices.Contains(failingBefore, p.Name) {
				out = append(out, p.Line())
			}
		}
	}
	now := fingerprint(h)
	for _, b := range before {
		i := slices.IndexFunc(now, func(d device) bool { return d.Check == b.Check })
		if i < 0 || !b.Present {
			continue
		}
		n := now[i]
		switch {
		case !n.Present:
			line := b.Check + ": not found"
			if node, ok := h.Find(b.Check); ok {
				line = node.Line()
			}
			if !slices.Contains(out, line) {
				out = append(out, line)
			}
		case b.Name != "" && n.Name != "" && n.Name != b.Name:
			out = append(out, fmt.Sprintf("%s: %s instead of %s as before the update", b.Check, n.Name, b.Name))
		}
	}
	return out
}

// failedChecks names the checks that fail in h (causes only, as
// Problems lists them).
func failedChecks(h health.Report) []string {
	var out []string
	for _, p := range h.Problems() {
		if p.Status == health.Failed {
			out = append(out, p.Name)
		}
	}
	return out
}

// fingerprint is which camera and speakerphone the kit has.
func fingerprint(h health.Report) []device {
	var out []device
	for _, name := range []string{health.NameCamera, health.NameSpeakerphone} {
		n, ok := h.Find(name)
		d := device{Check: name, Present: ok && n.Status != health.Failed}
		if ok && n.Status == health.OK {
			d.Name = n.Detail
		}
		out = append(out, d)
	}
	return out
}

func secs(d time.Duration) string {
	return health.Seconds(d.Truncate(time.Second))
}
