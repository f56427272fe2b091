package agent

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"time"

	"roomkit/ota"
	"roomkit/ota/rollout"
)

// install boots the downloaded root on trial, inside the window (or when
// an admin asked) and only when the kit is not busy; phase downloaded.
func (a *Agent) install(ctx context.Context) (time.Duration, error) {
	t := a.s.Target
	now := a.now()
	if !a.s.InstallNow {
		if wait, open := a.windowWait(now); !open {
			p, _ := a.currentPolicy()
			a.idle(fmt.Sprintf("%s downloaded; installs in the window %s–%s", t.Version, p.Window.Start, p.Window.End))
			return wait, nil
		}
	}
	release, ok := a.begin(t.Version, fmt.Sprintf("%s downloaded", t.Version))
	if !ok {
		return busyRetry, nil
	}
	a.show(ota.Installing, fmt.Sprintf("installing %s", t.Version))
	// The partition may have changed since the download (a cut during
	// another write, a second writer): what boots must be what was
	// verified.
	if err := a.verifyInactive(t); err != nil {
		release()
		a.log.Warn("the downloaded root changed on the partition; downloading again", "version", t.Version, "err", err)
		a.s.Phase, a.s.Written = phaseDownloading, 0
		if err := a.save(); err != nil {
			return a.stateError(err)
		}
		return 0, nil
	}
	before := a.cfg.Host.Health(now)
	a.s.Fingerprint, a.s.FailingBefore = fingerprint(before), failedChecks(before)
	a.s.Phase, a.s.TrialDeadline = phaseTestbootSet, int(a.cfg.Deadline/time.Second)
	if err := a.save(); err != nil {
		release()
		return a.stateError(err)
	}
	// gokrazy never removes its markers from the boot command line, and
	// each update eats the padding after it: without this, a kit takes
	// only a couple of trial boots in its life.
	err := a.gk.CleanBootFiles()
	if err == nil {
		err = a.gk.TestBoot(ctx)
	}
	if err != nil {
		release()
		a.s.Phase = phaseDownloaded
		if err := a.save(); err != nil {
			return a.stateError(err)
		}
		a.idle(fmt.Sprintf("%s downloaded; the trial boot could not be set up", t.Version))
		a.showError(fmt.Sprintf("gokrazy could not set up the trial boot of %s: %v", t.Version, err))
		return 5 * time.Minute, nil
	}
	a.s.Phase, a.s.TrialStarted = phaseRebooting, time.Time{}
	if err := a.save(); err != nil {
		release()
		return a.stateError(err)
	}
	return a.reboot(ctx, release, fmt.Sprintf("restarting into %s for a trial boot", t.Version))
}

// begin asks the kit to stop taking meetings for the update; false (and
// [idle] with the reason) while it is busy.
func (a *Agent) begin(version, what string) (func(), bool) {
	if why := a.cfg.Host.Busy(); why != "" {
		a.idle(fmt.Sprintf("%s; waiting: %s", what, why))
		return nil, false
	}
	release, ok := a.cfg.Host.BeginUpdate(version)
	if !ok {
		why := a.cfg.Host.Busy()
		if why == "" {
			why = "the kit is busy"
		}
		a.idle(fmt.Sprintf("%s; waiting: %s", what, why))
		return nil, false
	}
	if release == nil {
		release = func() {}
	}
	return release, true
}

// verifyInactive hashes the target's length of the inactive partition.
func (a *Agent) verifyInactive(t *target) error {
	rc, err := a.gk.ReadInactive()
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(rc, t.Length))
	if err != nil {
		return fmt.Errorf("read back %s: %w", t.Version, err)
	}
	if n != t.Length || fmt.Sprintf("%x", h.Sum(nil)) != t.SHA256 {
		return fmt.Errorf("the inactive partition no longer holds %s", t.Version)
	}
	return nil
}

// reboot asks gokrazy to restart the kit; release undoes BeginUpdate if
// the kit does not go down. A sim kit's OnReboot ends Run.
func (a *Agent) reboot(ctx context.Context, release func(), detail string) (time.Duration, error) {
	a.show(ota.Rebooting, detail)
	// Logged before the request: gokrazy may stop roomd before it answers,
	// and a line after it would then never be written.
	a.log.Info("rebooting", "why", detail)
	if err := a.gk.Reboot(ctx); err != nil {
		if ctx.Err() != nil {
			// gokrazy stops roomd before it answers: going down.
			return 0, ctx.Err()
		}
		release()
		a.rebootAsked = time.Time{}
		a.log.Error("reboot failed", "err", err)
		a.showError(fmt.Sprintf("gokrazy could not restart the kit: %v", err))
		return busyRetry, nil
	}
	a.release, a.rebootAsked = release, a.now()
	if a.cfg.OnReboot != nil {
		return 0, errStop // Run calls it
	}
	return rebootPatience, nil
}

// awaitReboot: this process asked for a reboot that has not come.
func (a *Agent) awaitReboot() (time.Duration, error) {
	if !a.rebootAsked.IsZero() {
		if left := rebootPatience - a.now().Sub(a.rebootAsked); left > 0 {
			return left, nil
		}
	}
	if a.release != nil {
		a.release()
		a.release = nil
	}
	a.rebootAsked = time.Time{}
	a.s.Phase = phaseDownloaded
	if err := a.save(); err != nil {
		return a.stateError(err)
	}
	v := a.s.Target.Version
	a.idle(fmt.Sprintf("%s downloaded", v))
	a.showError(fmt.Sprintf("the kit did not restart for the trial boot of %s; trying again", v))
	return busyRetry, nil
}

// rebootFirst restarts the kit once, when an install could happen,
// because it still runs from the partition a download would write.
func (a *Agent) rebootFirst(ctx context.Context) (time.Duration, error) {
	v := a.s.Target.Version
	if !a.rebootAsked.IsZero() {
		return a.awaitReboot()
	}
	if !a.s.InstallNow {
		if wait, open := a.windowWait(a.now()); !open {
			a.idle(fmt.Sprintf("%s is available; the kit restarts once in the window before downloading it", v))
			return wait, nil
		}
	}
	release, ok := a.begin(v, fmt.Sprintf("%s is available; the kit must restart once first", v))
	if !ok {
		return busyRetry, nil
	}
	return a.reboot(ctx, release, fmt.Sprintf("restarting once to finish the last update before installing %s", v))
}

// windowWait says whether now is inside the room's maintenance window, at
// least this device's jitter after it opened; else how long to wait.
func (a *Agent) windowWait(now time.Time) (time.Duration, bool) {
	p, _ := a.currentPolicy()
	id, loc, _ := a.cfg.Host.Room()
	if loc == nil && p.TimeZone != "" {
		loc, _ = time.LoadLocation(p.TimeZone)
	}
	j := rollout.Jitter(id, now, loc, p.Window)
	if rollout.InWindow(now, loc, p.Window) && rollout.InWindow(now.Add(-j), loc, p.Window) {
		return 0, true
	}
	wait := rollout.NextOpen(now, loc, p.Window).Sub(now) + j
	return min(max(wait, time.Second), a.cfg.CheckEvery), false
}
