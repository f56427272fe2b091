package agent

import (
	"testing"
	"time"

	"roomkit/health"
	"roomkit/ota"
)

// TestUntrustedClockWaits: until the kit's clock agrees with the
// portal's, the agent checks no signatures (an install-now request
// waits too) and says so without an error; once it agrees, the check
// runs within waitRetry.
func TestUntrustedClockWaits(t *testing.T) {
	for _, tt := range []struct {
		name    string
		offset  time.Duration
		unknown bool
	}{
		{"not measured yet", 0, true},
		{"years behind the portal", 3 * 365 * 24 * time.Hour, false},
		{"hours ahead of the portal", -7 * time.Hour, false},
		{"just over the tolerance", ClockTolerance + time.Second, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, noon)
			w.policy.InstallNow = "r-1"
			w.host.offset, w.host.clockUnknown = tt.offset, tt.unknown
			w.boot()
			r := w.report()
			if r.State != ota.Checking || r.Detail != "waiting for the clock to be set before checking signatures" || r.Error != "" {
				t.Fatalf("%+v", r)
			}
			if h := w.agent.Health(w.clock.Now()); h.Status != health.OK {
				t.Fatalf("Updates check while waiting for the clock: %+v", h)
			}
			w.clock.Advance(t, 10*time.Minute)
			if w.repo.checks != 0 || len(w.fake.Calls()) != 0 {
				t.Fatalf("checked with an untrusted clock: %d checks, calls %q", w.repo.checks, w.fake.Calls())
			}
			w.host.set(func(h *fakeHost) { h.offset, h.clockUnknown = -ClockTolerance, false })
			start := w.clock.Now()
			w.clock.Advance(t, waitRetry)
			if err := w.ended(); err != nil { // installed now: rebooted
				t.Fatal(err)
			}
			if w.repo.checks != 1 || w.calls("POST /update/testboot") != 1 || w.clock.Now().Sub(start) > waitRetry {
				t.Fatalf("after the clock was set: %d checks, calls %q, %s later", w.repo.checks, w.fake.Calls(), w.clock.Now().Sub(start))
			}
		})
	}
}

// TestWaitingForClockKeepsOutcome: a rolled-back update stays on show
// after the wait for the clock, when the check finds nothing new.
func TestWaitingForClockKeepsOutcome(t *testing.T) {
	w := newWorld(t, noon)
	w.trialBoot()
	w.host.set(func(h *fakeHost) { h.report = noCamera() })
	w.boot()
	w.clock.Advance(t, 11*time.Minute)
	if err := w.ended(); err != nil {
		t.Fatal(err)
	}
	w.host.set(func(h *fakeHost) { h.report, h.clockUnknown = healthy("Logitech BRIO", "Jabra Speak 510"), true })
	w.boot() // 1.0.0 again, before the portal answered
	if r := w.report(); r.State != ota.Checking {
		t.Fatalf("%+v", r)
	}
	w.host.set(func(h *fakeHost) { h.clockUnknown = false })
	w.clock.Advance(t, waitRetry)
	if r := w.report(); r.State != ota.RolledBack || r.Last == nil || r.Last.Version != "1.1.0" {
		t.Fatalf("after the clock was set: %+v", r)
	}
}

// TestFirstCheckBoundedByPeriod: the first check waits 1–5 min after a
// start, never longer than CheckEvery.
func TestFirstCheckBoundedByPeriod(t *testing.T) {
	for _, tt := range []struct {
		every, lo, hi time.Duration
	}{
		{time.Hour, time.Minute, 5 * time.Minute},
		{5 * time.Minute, time.Minute, 5 * time.Minute},
		{2 * time.Minute, time.Minute, 2 * time.Minute},
		{15 * time.Second, 7500 * time.Millisecond, 15 * time.Second},
		{time.Nanosecond, 0, time.Nanosecond},
	} {
		for range 200 {
			if d := firstDelay(tt.every); d < tt.lo || d > tt.hi {
				t.Fatalf("firstDelay(%s) = %s, want %s–%s", tt.every, d, tt.lo, tt.hi)
			}
		}
	}
}

// TestPolicyLate: a check that fell due before the portal's policy
// arrived runs as soon as it arrives; one that arrives earlier leaves
// the first check where it was.
func TestPolicyLate(t *testing.T) {
	for _, tt := range []struct {
		name     string
		arrives  time.Duration
		checksAt time.Duration // after the start
	}{
		{"after the first check was due", 10 * time.Minute, 10 * time.Minute},
		{"before the first check", time.Minute, 3 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, noon)
			w.repo.releases = nil
			w.firstCheck, w.noPolicy = 3*time.Minute, true
			w.boot()
			w.clock.Advance(t, tt.arrives)
			if r := w.report(); w.repo.checks != 0 || (tt.arrives > w.firstCheck && r.Detail != "waiting for the portal's update policy") {
				t.Fatalf("before the policy: %d checks, %+v", w.repo.checks, r)
			}
			w.agent.SetPolicy(w.policy)
			for w.clock.settle(t); w.repo.checkCount() == 0; w.clock.settle(t) {
				w.clock.Advance(t, time.Second)
			}
			if at := w.clock.Now().Sub(noon); at != tt.checksAt {
				t.Fatalf("checked %s after the start, want %s", at, tt.checksAt)
			}
			if r := w.report(); r.Detail != "1.0.0, up to date" {
				t.Fatalf("%+v", r)
			}
		})
	}
}
