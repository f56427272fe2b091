package rollout

import (
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	p := DefaultPolicy // rings 10, 50, 100
	for _, c := range []struct {
		name string
		p    Policy
		r    Rollout
		want int
	}{
		{"ring 0", p, Rollout{Ring: 0}, 10},
		{"ring 1", p, Rollout{Ring: 1}, 50},
		{"last ring", p, Rollout{Ring: 2}, 100},
		{"past the last ring", p, Rollout{Ring: 7}, 100},
		{"negative ring reads as the first", p, Rollout{Ring: -1}, 10},
		{"rollout paused", p, Rollout{Ring: 2, Paused: true}, 0},
		{"policy paused", Policy{Rings: []int{10, 100}, Paused: true}, Rollout{Ring: 1}, 0},
		{"no rings", Policy{}, Rollout{}, 0},
		{"out-of-range ring values are clamped", Policy{Rings: []int{-5, 150}}, Rollout{Ring: 1}, 100},
	} {
		if got := Percent(c.p, c.r); got != c.want {
			t.Errorf("%s: Percent = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestAdvance(t *testing.T) {
	start := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	soaked := start.Add(24 * time.Hour)
	p := DefaultPolicy
	paused := DefaultPolicy
	paused.Paused = true
	for _, c := range []struct {
		name     string
		p        Policy
		r        Rollout
		now      time.Time
		ring     int
		restarts bool // RingStarted becomes now
	}{
		{"soak not passed", p, Rollout{Ring: 0, RingStarted: start}, soaked.Add(-time.Second), 0, false},
		{"soak passed exactly", p, Rollout{Ring: 0, RingStarted: start}, soaked, 1, true},
		{"soak passed long ago: one ring only", p, Rollout{Ring: 0, RingStarted: start}, start.Add(30 * 24 * time.Hour), 1, true},
		{"second ring", p, Rollout{Ring: 1, RingStarted: start}, soaked, 2, true},
		{"last ring stays", p, Rollout{Ring: 2, RingStarted: start}, soaked, 2, false},
		{"past the last ring stays", p, Rollout{Ring: 5, RingStarted: start}, soaked, 5, false},
		{"rollout paused", p, Rollout{Ring: 0, RingStarted: start, Paused: true}, soaked, 0, false},
		{"policy paused", paused, Rollout{Ring: 0, RingStarted: start}, soaked, 0, false},
		{"zero soak advances at once", Policy{Rings: []int{10, 100}}, Rollout{Ring: 0, RingStarted: start}, start, 1, true},
	} {
		got := Advance(c.p, c.r, c.now)
		wantStarted := c.r.RingStarted
		if c.restarts {
			wantStarted = c.now
		}
		if got.Ring != c.ring || !got.RingStarted.Equal(wantStarted) || got.Paused != c.r.Paused {
			t.Errorf("%s: Advance = ring %d started %s, want ring %d started %s", c.name, got.Ring, got.RingStarted, c.ring, wantStarted)
		}
	}
}

func TestJudge(t *testing.T) {
	r := Rollout{Channel: "stable", Version: "1.5.0", Ring: 1}
	for _, c := range []struct {
		name              string
		failPercent       int
		r                 Rollout
		attempted, failed int
		paused            bool
		reason            string
	}{
		{"the contract's example", 10, r, 9, 2, true, "paused by itself: 2 of 9 rooms rolled back 1.5.0 (threshold 10 %)"},
		{"no failure", 10, r, 9, 0, false, ""},
		{"exactly at the threshold", 10, r, 10, 1, false, ""},
		{"just above the threshold", 10, r, 9, 1, true, "paused by itself: 1 of 9 rooms rolled back 1.5.0 (threshold 10 %)"},
		{"zero threshold: one failure pauses", 0, r, 100, 1, true, "paused by itself: 1 of 100 rooms rolled back 1.5.0 (threshold 0 %)"},
		{"zero threshold, no failure", 0, r, 100, 0, false, ""},
		{"100 % never pauses", 100, r, 5, 5, false, ""},
		{"nothing attempted yet", 10, r, 0, 0, false, ""},
		{"attempted below failed reads as failed", 10, r, 0, 3, true, "paused by itself: 3 of 3 rooms rolled back 1.5.0 (threshold 10 %)"},
		{"already paused keeps its reason", 10, Rollout{Version: "1.5.0", Paused: true, Reason: "paused by alice"}, 9, 9, true, "paused by alice"},
	} {
		p := DefaultPolicy
		p.FailPercent = c.failPercent
		got := Judge(p, c.r, c.attempted, c.failed)
		if got.Paused != c.paused || got.Reason != c.reason {
			t.Errorf("%s: Judge = paused %v %q, want paused %v %q", c.name, got.Paused, got.Reason, c.paused, c.reason)
		}
		if got.Ring != c.r.Ring || got.Version != c.r.Version {
			t.Errorf("%s: Judge changed more than the pause: %+v", c.name, got)
		}
	}
}
