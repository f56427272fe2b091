package gpio

import "time"

// debouncer turns a contact's bouncing level into clean changes. The first
// change is taken at once (a press feels immediate); after it the level is
// not looked at again until it has had window to settle, and then it is
// re-read, so a tap shorter than the window is not missed either.
type debouncer struct {
	window   time.Duration
	stable   bool      // the debounced level: active or not
	changed  time.Time // when stable last changed
	settling bool      // inside the window after a change
}

// observe reports the pin's current level at now; it says whether the
// debounced level changed.
func (d *debouncer) observe(active bool, now time.Time) bool {
	if d.settling && now.Sub(d.changed) < d.window {
		return false
	}
	d.settling = false
	if active == d.stable {
		return false
	}
	d.stable, d.changed, d.settling = active, now, true
	return true
}

// wait is how long to wait for an edge before looking at the level again.
func (d *debouncer) wait(now time.Time, idle time.Duration) time.Duration {
	if !d.settling {
		return idle
	}
	return max(d.window-now.Sub(d.changed), time.Millisecond)
}
