package rollout

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"roomkit/ota"
)

const day = 24 * time.Hour

// ParseWindow reads a window's "HH:MM" bounds as offsets from local
// midnight on the wall clock. Both must be two-digit hours 00–23 and
// minutes 00–59; "24:00" is not accepted (use 00:00, windows may cross
// midnight). The error names the bound and the text an admin typed.
func ParseWindow(w ota.Window) (start, end time.Duration, err error) {
	if start, err = parseClock("window start", w.Start); err != nil {
		return 0, 0, err
	}
	if end, err = parseClock("window end", w.End); err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

func parseClock(what, s string) (time.Duration, error) {
	bad := fmt.Errorf("%s %q is not HH:MM (00:00–23:59)", what, s)
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	var d [4]int
	for i, j := range []int{0, 1, 3, 4} {
		c := s[j]
		if c < '0' || c > '9' {
			return 0, bad
		}
		d[i] = int(c - '0')
	}
	h, m := d[0]*10+d[1], d[2]*10+d[3]
	if h > 23 || m > 59 {
		return 0, bad
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// span is a parsed window.
type span struct{ start, end time.Duration }

// spanOf parses w, falling back to ota.DefaultWindow (see the package
// doc: a broken policy must neither block updates nor open working hours).
func spanOf(w ota.Window) span {
	s, e, err := ParseWindow(w)
	if err != nil {
		s, e, _ = ParseWindow(ota.DefaultWindow)
	}
	return span{s, e}
}

func (sp span) always() bool { return sp.start == sp.end }

// contains reports whether a wall-clock time of day lies in [start, end).
func (sp span) contains(tod time.Duration) bool {
	switch {
	case sp.always():
		return true
	case sp.start < sp.end:
		return tod >= sp.start && tod < sp.end
	default: // crosses midnight
		return tod >= sp.start || tod < sp.end
	}
}

// wallClock is u's time of day on its location's wall clock.
func wallClock(u time.Time) time.Duration {
	h, m, s := u.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(s)*time.Second + time.Duration(u.Nanosecond())
}

// mod24h brings d into [0, 24h).
func mod24h(d time.Duration) time.Duration {
	d %= day
	if d < 0 {
		d += day
	}
	return d
}

func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// maxZones bounds the walks over a zone's offset changes below. Real zones
// change offset at most a few times in the two days a walk can span; the
// bound only keeps a pathological location from looping.
const maxZones = 64

// InWindow reports whether the wall clock of t in loc (nil: UTC) lies in
// the window: start ≤ clock < end, crossing midnight when end < start,
// always when start == end.
func InWindow(t time.Time, loc *time.Location, w ota.Window) bool {
	return spanOf(w).contains(wallClock(t.In(orUTC(loc))))
}

// NextOpen returns t if t is inside the window, else the first later
// moment at which the wall clock in loc (nil: UTC) enters it: normally
// the next start, but after a spring-forward jump it may be the jump
// itself (02:30–03:30 opens at 03:00 summer time), and a window that lies
// wholly in skipped time opens the next day. It is in loc. It returns the
// zero Time only if the wall clock never shows the window within
// maxZones offset changes, which no real zone does.
func NextOpen(t time.Time, loc *time.Location, w ota.Window) time.Time {
	sp := spanOf(w)
	u := t.In(orUTC(loc))
	if sp.contains(wallClock(u)) {
		return t
	}
	return nextOpen(u, sp)
}

// nextOpen is the first moment from u (outside the window) that the
// window opens; the zero time if the zone jumps too often to tell.
func nextOpen(u time.Time, sp span) time.Time {
	if at, ok := crossing(u, sp, sp.start, true); ok {
		return at
	}
	return time.Time{}
}

// crossing walks the periods of constant UTC offset from u to the first
// moment the wall clock shows edge, or a jump lands inside the window
// (inside true) or outside it (false). Within one period the wall clock
// runs evenly, so the edge comes exactly when it shows; else the
// crossing may be the jump to the next period. ok false after maxZones
// periods, at the last one's start.
func crossing(u time.Time, sp span, edge time.Duration, inside bool) (at time.Time, ok bool) {
	for range maxZones {
		_, end := u.ZoneBounds()
		at := u.Add(mod24h(edge - wallClock(u)))
		if end.IsZero() || at.Before(end) {
			return at, true
		}
		u = end
		if sp.contains(wallClock(u)) == inside {
			return u, true
		}
	}
	return u, false
}

// lastOpen is the moment the window opened for u, which is inside it:
// the same walk as nextOpen, backwards.
func lastOpen(u time.Time, sp span) time.Time {
	for range maxZones {
		start, _ := u.ZoneBounds()
		at := u.Add(-mod24h(wallClock(u) - sp.start))
		// At start itself the wall clock may have jumped from inside
		// (fall back): look before it.
		if start.IsZero() || at.After(start) {
			return at
		}
		before := start.Add(-time.Nanosecond)
		if !sp.contains(wallClock(before)) {
			return start
		}
		u = before
	}
	return u
}

// nextClose is the first moment after u, which is inside the window,
// that the wall clock leaves it.
func nextClose(u time.Time, sp span) time.Time {
	at, _ := crossing(u, sp, sp.end, false)
	return at
}

// Jitter is how long after the window opens this device should install,
// so that a fleet does not hit the portal and the network at the same
// minute. It concerns the opening t is in, or else the next one, and is
// less than half of that opening's real length (shorter or longer on DST
// days), so opening+Jitter is always inside the window with time to spare
// for the install. It is the same all through one opening — a window
// crossing midnight keeps the jitter of the day it opened — and differs
// from device to device and from day to day, so no room is always last.
// A window that is always open has no opening to spread: 0.
func Jitter(deviceID string, t time.Time, loc *time.Location, w ota.Window) time.Duration {
	sp := spanOf(w)
	if sp.always() {
		return 0
	}
	u := t.In(orUTC(loc))
	var open time.Time
	if sp.contains(wallClock(u)) {
		open = lastOpen(u, sp)
	} else {
		open = nextOpen(u, sp)
	}
	if open.IsZero() {
		return 0
	}
	half := int64(nextClose(open, sp).Sub(open) / 2 / time.Second)
	if half <= 0 {
		return 0
	}
	y, m, d := open.Date()
	sum := sha256.Sum256(fmt.Appendf(nil, "roomkit-jitter\x00%s\x00%04d-%02d-%02d", deviceID, y, m, d))
	return time.Duration(binary.BigEndian.Uint64(sum[:8])%uint64(half)) * time.Second
}
