package rollout

import (
	"fmt"
	"time"
)

// Rollout is the progress of one version on one channel across the fleet.
type Rollout struct {
	Channel, Version string
	// Ring indexes Policy.Rings; past the end means the last ring.
	Ring        int
	RingStarted time.Time
	Paused      bool
	// Reason says why it is paused, for the admin center.
	Reason string
}

// Percent is the share of the fleet, 0 to 100, allowed to install the
// version now: the current ring's, the last ring's once past it, 0 while
// the policy or the rollout is paused or the policy has no rings.
func Percent(p Policy, r Rollout) int {
	if p.Paused || r.Paused || len(p.Rings) == 0 {
		return 0
	}
	return min(max(p.Rings[min(max(r.Ring, 0), len(p.Rings)-1)], 0), 100)
}

// Advance moves the rollout to the next ring, starting now, once Soak has
// passed since its ring started, unless it or the policy is paused or it is
// in the last ring already. One ring per call: a portal that was down for
// days does not skip rings, each still soaks.
func Advance(p Policy, r Rollout, now time.Time) Rollout {
	if p.Paused || r.Paused || r.Ring >= len(p.Rings)-1 {
		return r
	}
	if now.Sub(r.RingStarted) < p.Soak {
		return r
	}
	r.Ring++
	r.RingStarted = now
	return r
}

// Judge pauses the rollout by itself when, among the attempted rooms that
// tried the version, the failed ones (failed or rolled back) are more than
// FailPercent % and at least one. A paused rollout is returned unchanged,
// so an admin's reason, or the count that tripped the pause, stays.
// attempted is read as at least failed.
func Judge(p Policy, r Rollout, attempted, failed int) Rollout {
	if r.Paused || failed < 1 {
		return r
	}
	attempted = max(attempted, failed)
	if failed*100 <= p.FailPercent*attempted {
		return r
	}
	r.Paused = true
	r.Reason = fmt.Sprintf("paused by itself: %d of %d rooms rolled back %s (threshold %d %%)", failed, attempted, r.Version, p.FailPercent)
	return r
}
