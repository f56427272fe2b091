package rollout

import (
	"testing"
	"time"

	"roomkit/ota"
)

// TestJitterBounds: for every device the jitter is below half of the
// opening's real length, so opening+jitter lies in the window, also on
// DST days where the opening is shorter or longer than the window says.
func TestJitterBounds(t *testing.T) {
	for _, c := range []struct {
		name, zone string
		w          ota.Window
		t          string // any moment; the opening concerned is the one t is in, or the next
		open       string // that opening
		length     time.Duration
	}{
		{"default window, from the afternoon before", "Europe/Zurich", ota.DefaultWindow, "2026-12-05T15:00:00+01:00", "2026-12-06T01:00:00+01:00", 3 * time.Hour},
		{"default window, from inside", "Europe/Zurich", ota.DefaultWindow, "2026-12-06T03:59:59+01:00", "2026-12-06T01:00:00+01:00", 3 * time.Hour},
		{"crossing midnight, after midnight", "Europe/Zurich", win("22:00", "02:00"), "2026-12-06T01:00:00+01:00", "2026-12-05T22:00:00+01:00", 4 * time.Hour},
		{"zurich spring: shorter", "Europe/Zurich", win("02:30", "03:30"), "2026-03-29T00:00:00+01:00", "2026-03-29T03:00:00+02:00", 30 * time.Minute},
		{"zurich spring: default window two hours", "Europe/Zurich", ota.DefaultWindow, "2026-03-29T03:10:00+02:00", "2026-03-29T01:00:00+01:00", 2 * time.Hour},
		{"zurich fall: longer", "Europe/Zurich", win("02:00", "03:00"), "2026-10-25T02:30:00+01:00", "2026-10-25T02:00:00+02:00", 2 * time.Hour},
		{"zurich fall: second opening of a split window", "Europe/Zurich", win("02:30", "03:30"), "2026-10-25T02:45:00+01:00", "2026-10-25T02:30:00+01:00", time.Hour},
		{"zurich spring: skipped window gives the next day's", "Europe/Zurich", win("02:00", "03:00"), "2026-03-29T01:30:00+01:00", "2026-03-30T02:00:00+02:00", time.Hour},
		{"lord howe spring", "Australia/Lord_Howe", win("02:00", "03:00"), "2026-10-04T02:45:00+11:00", "2026-10-04T02:30:00+11:00", 30 * time.Minute},
		{"chatham across the spring jump", "Pacific/Chatham", win("02:00", "04:00"), "2026-09-27T03:50:00+13:45", "2026-09-27T02:00:00+12:45", time.Hour},
		{"kolkata", "Asia/Kolkata", win("01:00", "01:01"), "2026-12-05T01:00:30+05:30", "2026-12-05T01:00:00+05:30", time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			loc := zone(t, c.zone)
			tt, open := at(t, c.t), at(t, c.open)
			half := c.length / 2
			var top time.Duration
			for i := range 1000 {
				id := syntheticID(i)
				j := Jitter(id, tt, loc, c.w)
				if j < 0 || j >= half {
					t.Fatalf("Jitter(%q) = %v, want in [0, %v)", id, j, half)
				}
				if j%time.Second != 0 {
					t.Fatalf("Jitter(%q) = %v, not whole seconds", id, j)
				}
				if !InWindow(open.Add(j), loc, c.w) {
					t.Fatalf("Jitter(%q) = %v: %s is outside the window", id, j, open.Add(j).In(loc).Format(time.RFC3339))
				}
				// The opening concerned is c.open: at the opening itself the
				// jitter is the same.
				if jo := Jitter(id, open, loc, c.w); jo != j {
					t.Fatalf("Jitter(%q) at %s = %v, at the opening %s = %v", id, c.t, j, c.open, jo)
				}
				top = max(top, j)
			}
			// The whole real length is used, not the nominal one: with 1000
			// devices some land in the last tenth of the half.
			if top < half*9/10 {
				t.Errorf("largest jitter over 1000 devices is %v, want near %v", top, half)
			}
		})
	}
}

// TestJitterStable: one device keeps its jitter through an opening, even
// across midnight, and gets another one the next day.
func TestJitterStable(t *testing.T) {
	loc := zone(t, "Europe/Zurich")
	w := win("22:00", "02:00")
	id := syntheticID(7)
	first := Jitter(id, at(t, "2026-12-05T12:00:00+01:00"), loc, w)
	for _, s := range []string{"2026-12-05T21:59:59+01:00", "2026-12-05T22:00:00+01:00", "2026-12-05T23:59:59+01:00", "2026-12-06T00:00:00+01:00", "2026-12-06T01:59:59+01:00"} {
		if got := Jitter(id, at(t, s), loc, w); got != first {
			t.Errorf("Jitter at %s = %v, want %v as for the rest of this opening", s, got, first)
		}
	}
	// From 02:00 on, the jitter is the next opening's.
	next := Jitter(id, at(t, "2026-12-06T02:00:00+01:00"), loc, w)
	if again := Jitter(id, at(t, "2026-12-06T22:30:00+01:00"), loc, w); again != next {
		t.Errorf("Jitter for the opening of 2026-12-06: %v at 02:00, %v at 22:30", next, again)
	}
	// Over a month, a device does not keep one place in the queue.
	days := map[time.Duration]bool{}
	for d := range 30 {
		days[Jitter(id, time.Date(2026, 12, 1+d, 12, 0, 0, 0, loc), loc, w)] = true
	}
	if len(days) < 25 {
		t.Errorf("one device had only %d different jitters over 30 days", len(days))
	}
}

func TestJitterDiffersAcrossDevices(t *testing.T) {
	loc := zone(t, "America/New_York")
	tt := at(t, "2026-12-05T12:00:00-05:00")
	seen := map[time.Duration]int{}
	for i := range 100 {
		seen[Jitter(syntheticID(i), tt, loc, ota.DefaultWindow)]++
	}
	// 100 devices over 5400 possible seconds: collisions are rare.
	if len(seen) < 95 {
		t.Errorf("100 devices got only %d different jitters", len(seen))
	}
}

func TestJitterAlwaysOpen(t *testing.T) {
	if j := Jitter(syntheticID(1), at(t, "2026-12-05T12:00:00Z"), nil, win("03:00", "03:00")); j != 0 {
		t.Errorf("Jitter for an always-open window = %v, want 0", j)
	}
}
