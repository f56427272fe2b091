package appliance

// The kit's side of over-the-air updates. The update agent (ota/agent)
// decides what to install and when; the kit is its Host: it says who it
// is (Room), whether a meeting is in the way (Busy), how healthy it is
// (Health, health.go), how far its clock is from the portal's
// (ClockOffset), and lets the agent take the kit for an install
// (BeginUpdate): the state Updating, where the screen says "Updating —
// back in a minute" and joins and Meet Now are refused. The kit hands
// the agent each heartbeat answer's policy and sends its report back
// (portallink.go), shows its state in Status and Settings, and judges the
// Updates health check by it.

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"roomkit/health"
	"roomkit/ota"
)

// Updater is what the kit needs of the update agent (*agent.Agent).
// Its methods must not call back into the Kit: the kit calls them from
// its heartbeat, its status and its health tree.
type Updater interface {
	// SetPolicy hands over a heartbeat answer's "update".
	SetPolicy(p ota.Policy)
	// Report is the heartbeat's "update", and Status's.
	Report() ota.Report
	// Health is the Updates check (health.NameUpdates).
	Health(now time.Time) health.Result
}

// ErrUpdating is why a join or Meet Now is refused while an update is
// installed.
var ErrUpdating = errors.New("the kit is installing an update: back in a minute")

// updatesOff is the Updates check of a kit without an agent (roomd
// without -ota-root). A kit built without a trusted root is a development
// or demo kit: that is a choice, not a fault, so it stays ok.
const updatesOff = "updates are off: no trusted root"

// UseUpdater attaches the update agent. Call it before Run: the agent
// needs the kit as its Host, so the kit is made first.
func (k *Kit) UseUpdater(u Updater) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.updater = u
}

func (k *Kit) updaterOf() Updater {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.updater
}

// Room is the kit's device ID and the zone of the room's clock (the
// room's time zone, else settings.json's, else UTC), ok once the kit is
// paired with a room.
func (k *Kit) Room() (deviceID string, loc *time.Location, ok bool) {
	l := k.link.status(k.now())
	st := k.state()
	paired := l.Room != nil && (st == Ready || st == Updating)
	return l.DeviceID, l.Location, paired && l.DeviceID != ""
}

// ClockOffset is how far the portal's clock is ahead of the kit's, as the
// Date of its last answer said; known false until an answer carried one.
// The update agent checks signed metadata's expiry only once they agree.
func (k *Kit) ClockOffset() (offset time.Duration, known bool) {
	return k.link.clockOffset()
}

// Busy says why an install must wait: "a meeting is running", "a meeting
// is starting"; "" when nothing is in the way.
func (k *Kit) Busy() string {
	mc := k.meetings
	mc.mu.Lock()
	defer mc.mu.Unlock()
	switch {
	case mc.meet != nil:
		return "a meeting is running"
	case mc.joining:
		return "a meeting is starting"
	}
	return ""
}

// BeginUpdate takes the kit for installing version: only when it is ready
// (paired, home screen) and no meeting runs or is being joined, all in
// one step under the meeting controller's and the kit's locks, so a join
// cannot slip in between. The kit then shows "Updating — back in a
// minute" and refuses joins and Meet Now (ErrUpdating). release returns
// it to ready, for when the install or its reboot failed; after a
// successful reboot there is nothing to release.
func (k *Kit) BeginUpdate(version string) (release func(), ok bool) {
	mc := k.meetings
	mc.mu.Lock() // before k.mu, as join takes them
	if mc.meet == nil && !mc.joining {
		k.mu.Lock()
		if ok = k.st == Ready && !k.resetReq; ok {
			k.st, k.updateTo = Updating, version
		}
		k.mu.Unlock()
	}
	mc.mu.Unlock()
	if !ok {
		return func() {}, false
	}
	k.log.Info("installing an update: meetings are refused until it is done", "version", version)
	k.screen.post(k, func(s *screenState) { s.settings, s.keypad, s.confirming = false, nil, false })
	return sync.OnceFunc(func() {
		k.mu.Lock()
		back := k.st == Updating
		if back {
			k.st, k.updateTo = Ready, ""
		}
		k.mu.Unlock()
		if back {
			k.log.Info("update not installed: the kit is ready again", "version", version)
		}
		k.signal()
	}), true
}

// Restart starts the kit's state machine again on version, as a reboot
// into a new root would: meetings end, the kit boots (loads its identity
// and pairing) and comes back ready. A sim kit (roomd -devices sim) calls
// it when the fake gokrazy "reboots".
func (k *Kit) Restart(version string) {
	k.meetings.endAll()
	k.link.forgetPolicy()
	k.mu.Lock()
	k.version, k.st, k.updateTo = version, Booting, ""
	cancel := k.cancelState
	k.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	k.log.Info("restarting", "version", version)
	k.signal()
}

// updatingTo is the version being installed, while Updating.
func (k *Kit) updatingTo() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.updateTo
}

// updateStatus is Status's "update"; nil without an agent.
func (k *Kit) updateStatus() *ota.Status {
	u := k.updaterOf()
	if u == nil {
		return nil
	}
	s := u.Report().Status
	return &s
}

// updateReport is the heartbeat's "update"; nil without an agent.
func (k *Kit) updateReport() *ota.Report {
	u := k.updaterOf()
	if u == nil {
		return nil
	}
	r := u.Report()
	return &r
}

// updatesHealth is the Updates check's result, taken before the tree is
// evaluated (the agent locks its own state).
func (k *Kit) updatesHealth(now time.Time) health.Result {
	u := k.updaterOf()
	if u == nil {
		return health.Pass(updatesOff)
	}
	return u.Health(now)
}

// versionLine is Settings' footer: "Version 1.5.0 · last update: healthy
// 01:12", or "… · last update: 1.6.0 rolled back 01:12 (Camera: not
// found)". An outcome from before today shows its date.
func versionLine(version string, u Updater, now time.Time, loc *time.Location) string {
	line := "Version " + version
	if u == nil {
		return line + " · updates off"
	}
	last := u.Report().Last
	if last == nil {
		return line
	}
	at := last.At.In(loc)
	when := at.Format("15:04")
	if y, m, d := now.In(loc).Date(); at.Year() != y || at.Month() != m || at.Day() != d {
		when = at.Format("2 Jan 15:04")
	}
	switch last.Outcome {
	case ota.Healthy:
		return fmt.Sprintf("%s · last update: healthy %s", line, when)
	case ota.RolledBack:
		line = fmt.Sprintf("%s · last update: %s rolled back %s", line, last.Version, when)
	default:
		line = fmt.Sprintf("%s · last update: %s %s %s", line, last.Version, last.Outcome, when)
	}
	if last.Reason != "" {
		line += " (" + last.Reason + ")"
	}
	return line
}
