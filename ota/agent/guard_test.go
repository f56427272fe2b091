package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeRoomd is roomd's control API as the guard sees it: in a meeting or
// not, or not answering.
type fakeRoomd struct {
	mu      sync.Mutex
	meeting bool
	err     error
	asked   int
}

func (r *fakeRoomd) InMeeting(context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked++
	return r.meeting, r.err
}

func (r *fakeRoomd) set(meeting bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.meeting, r.err = meeting, err
}

var errRefused = errors.New("dial tcp 127.0.0.1:7444: connect: connection refused")

// guard starts the guard of the boot that starts now (roomd's agent is
// not running: the fake clock serves one waiter). The channel says when
// Run returned.
func (w *world) guard(roomd *fakeRoomd) <-chan error {
	w.t.Helper()
	booted := w.clock.Now()
	g := &Guard{StateDir: w.dir, Gokrazy: w.fake.Client(), InMeeting: roomd.InMeeting,
		Uptime: func() (time.Duration, error) { return w.clock.Now().Sub(booted), nil },
		Log:    slog.New(slog.NewTextHandler(testWriter{w.t}, nil)), after: w.clock.After}
	ctx, cancel := context.WithCancel(context.Background())
	w.clock.start()
	done := make(chan error, 1)
	go func() {
		err := g.Run(ctx)
		w.clock.stop()
		done <- err
	}()
	w.t.Cleanup(cancel)
	return done
}

// ended says whether the guard's Run returned (nil); wait: give it 20 s
// to (a reboot it asked for), else it must have already.
func ended(t *testing.T, done <-chan error, wait bool) bool {
	t.Helper()
	var timeout <-chan time.Time
	if wait {
		timeout = time.After(20 * time.Second)
	} else {
		c := make(chan time.Time)
		close(c)
		timeout = c
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("guard: %v", err)
		}
		return true
	case <-timeout:
		return false
	}
}

// TestGuardRebootsStuckTrial: a trial boot whose roomd never starts (or
// whose state cannot be read) is rebooted into the old root at the
// deadline plus GuardGrace after the boot, and the old root's agent
// counts the attempt.
func TestGuardRebootsStuckTrial(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage bool
	}{
		{"roomd never starts", false},
		{"the state is damaged", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, noon)
			w.trialBoot()
			if tt.damage {
				if err := os.WriteFile(filepath.Join(w.dir, "state.json"), []byte(`{"phase":`), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			roomd := &fakeRoomd{err: errRefused}
			done := w.guard(roomd)
			w.clock.Advance(t, DefaultDeadline+GuardGrace-time.Second)
			if ended(t, done, false) || w.calls("POST /reboot") != 1 {
				t.Fatalf("rebooted before the deadline: %q", w.fake.Calls())
			}
			w.clock.Advance(t, time.Second)
			if !ended(t, done, true) {
				t.Fatal("the guard did not reboot the stuck trial")
			}
			if w.calls("POST /reboot") != 2 || w.running() != "1.0.0" {
				t.Fatalf("after the guard: calls %q, running %s", w.fake.Calls(), w.running())
			}
			if tt.damage {
				return
			}
			w.boot() // the old root's agent counts the attempt (and tries again)
			w.clock.settle(t)
			if s, err := w.agent.st.load(); err != nil || s.Attempts != 1 {
				t.Fatalf("old root's state %+v, %v", s, err)
			}
		})
	}
}

// TestGuardWaitsForMeeting: an overdue trial is not rebooted while roomd
// says a meeting runs, but is once it ends, or once roomd stops
// answering; the trial's deadline comes from the agent's state.
func TestGuardWaitsForMeeting(t *testing.T) {
	for _, tt := range []struct {
		name string
		then func(r *fakeRoomd)
	}{
		{"the meeting ends", func(r *fakeRoomd) { r.set(false, nil) }},
		{"roomd stops answering", func(r *fakeRoomd) { r.set(true, errRefused) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, noon)
			w.deadline = 3 * time.Minute
			w.trialBoot()
			roomd := &fakeRoomd{meeting: true}
			done := w.guard(roomd)
			w.clock.Advance(t, 3*time.Minute+GuardGrace-time.Second)
			if roomd.asked != 0 {
				t.Fatalf("roomd asked %d times before the deadline", roomd.asked)
			}
			w.clock.Advance(t, time.Hour)
			if ended(t, done, false) || w.calls("POST /reboot") != 1 || roomd.asked == 0 {
				t.Fatalf("rebooted during a meeting: %q", w.fake.Calls())
			}
			tt.then(roomd)
			w.clock.Advance(t, guardTick)
			if !ended(t, done, true) || w.running() != "1.0.0" {
				t.Fatalf("not rebooted after %s: %q", tt.name, w.fake.Calls())
			}
		})
	}
}

// TestGuardLeavesOthers: no trial, a committed trial (still running from
// the switched root until the next reboot) and a healthy trial that
// commits are never rebooted.
func TestGuardLeavesOthers(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(w *world)
	}{
		{"no update", func(w *world) {}},
		{"committed, not rebooted", func(w *world) {
			w.policy.InstallNow = "r-1"
			w.boot()
			w.drive(isState("healthy"))
			w.stop()
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, noon)
			tt.setup(w)
			n := w.calls("POST /reboot")
			roomd := &fakeRoomd{err: errRefused}
			done := w.guard(roomd)
			w.clock.Advance(t, 3*time.Hour)
			if ended(t, done, false) || w.calls("POST /reboot") != n || roomd.asked != 0 {
				t.Fatalf("the guard acted: calls %q, roomd asked %d times", w.fake.Calls(), roomd.asked)
			}
		})
	}
}
