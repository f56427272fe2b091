package appliance

// Configuration profiles (docs/profiles.md): each heartbeat answer may
// carry the room's profile ("config": its merged values and their
// revision); the kit applies it and reports the revision applied, or
// rejected with a reason per field, in a later heartbeat.
//
// The rules:
//   - settings.json is the installer's layer underneath: a field the
//     profile sets wins over it, a field it leaves out falls back to it.
//     An answer without "config" means the room has no profile: the kit
//     goes back to settings.json alone.
//   - A rejected field keeps its previous value; the others apply.
//   - display_rotation, camera and gpio are read when the drivers open
//     (roomd opens them with StartupSettings): a profile that changes
//     them waits for the kit to be idle — no meeting, no update — and
//     then restarts roomd, the way an admin's restart does. The revision
//     is reported once the restart took it; until then the kit reports
//     the one it runs.
//   - time_zone, update_channel and update_window are the portal's to
//     apply (the room's time zone, the update policy): the kit counts
//     them applied.
//   - The last config and its status are kept in the state directory
//     (profileFile), so a kit that restarts without its portal keeps
//     them.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/google/renameio/v2"

	"roomkit/profile"
	"roomkit/settings"
	"roomkit/ui"
)

// profileFile keeps the profile in force, and one waiting for a restart.
const profileFile = "profile.json"

// profileSaved is profileFile's content.
type profileSaved struct {
	// Revision is the config in force; "" for none (settings.json alone).
	Revision string `json:"revision,omitempty"`
	// Values are in force: the config's fields, a rejected one replaced
	// by its previous value.
	Values profile.Values `json:"values"`
	// Status is what the kit reports for Revision; nil for none.
	Status *profile.Status `json:"status,omitempty"`
	// Pending is a config that changes the drivers' settings, waiting
	// for the kit to be idle to restart. Whatever restarts roomd first
	// (a power cut, a reboot) puts it in force: roomd opens the drivers
	// with it.
	Pending *profileSaved `json:"pending,omitempty"`
}

// startup are the settings the drivers open with.
type startup struct {
	Rotate      int
	Prefer1080p bool
	CameraName  string
	GPIO        settings.GPIO
}

// startupOf lays v's start-up fields over settings.json's.
func startupOf(s settings.Settings, v profile.Values) startup {
	st := startup{Rotate: s.Display.Rotate, Prefer1080p: s.Camera.Prefer1080p, GPIO: s.GPIO}
	if v.DisplayRotation != nil {
		st.Rotate = *v.DisplayRotation
	}
	if c := v.Camera; c != nil {
		st.CameraName = c.Name
		if c.Prefer1080p != nil {
			st.Prefer1080p = *c.Prefer1080p
		}
	}
	if v.GPIO != nil {
		st.GPIO = *v.GPIO
	}
	return st
}

// StartupSettings are the settings roomd opens the drivers with:
// settings.json's (s) with the start-up fields of the profile the kit
// keeps in stateDir laid over them (display_rotation as display.rotate,
// camera.prefer_1080p, gpio), and the camera the profile prefers by name
// ("" for the kit's own choice). Without a saved profile it is s, "".
func StartupSettings(stateDir string, s settings.Settings) (settings.Settings, string) {
	saved, _ := loadProfile(stateDir)
	v := saved.Values
	if saved.Pending != nil {
		v = saved.Pending.Values
	}
	st := startupOf(s, v)
	s.Display.Rotate, s.Camera.Prefer1080p, s.GPIO = st.Rotate, st.Prefer1080p, st.GPIO
	return s, st.CameraName
}

func loadProfile(dir string) (profileSaved, error) {
	b, err := os.ReadFile(filepath.Join(dir, profileFile))
	if errors.Is(err, os.ErrNotExist) {
		return profileSaved{}, nil
	}
	if err != nil {
		return profileSaved{}, fmt.Errorf("read the profile: %w", err)
	}
	var s profileSaved
	if err := json.Unmarshal(b, &s); err != nil {
		return profileSaved{}, fmt.Errorf("profile file %s damaged: %w", filepath.Join(dir, profileFile), err)
	}
	err = s.Values.Check()
	if p := s.Pending; err == nil && p != nil {
		if p.Pending != nil {
			err = errors.New("a pending profile within a pending profile")
		} else {
			err = p.Values.Check()
		}
	}
	if err != nil {
		return profileSaved{}, fmt.Errorf("profile file %s: %w", filepath.Join(dir, profileFile), err)
	}
	return s, nil
}

// profiles is the kit's part of configuration profiles.
type profiles struct {
	mu     sync.Mutex
	saved  profileSaved
	booted startup // what the drivers opened with
}

// loadProfiles reads the saved profile at start-up: roomd opened the
// drivers with it (StartupSettings), so a pending one is in force now.
func (k *Kit) loadProfiles() {
	saved, err := loadProfile(k.cfg.StateDir)
	if err != nil {
		k.log.Warn("ignoring the saved profile: settings.json alone applies until the portal sends it again", "err", err)
	}
	if p := saved.Pending; p != nil {
		saved = *p
		k.saveProfile(saved)
	}
	k.profiles.saved = saved
	k.profiles.booted = startupOf(k.cfg.Settings, saved.Values)
	k.applyLive(saved.Values)
}

func (k *Kit) saveProfile(s profileSaved) {
	if !k.link.hasStorage() {
		return
	}
	b, err := json.Marshal(s)
	if err == nil {
		err = renameio.WriteFile(filepath.Join(k.cfg.StateDir, profileFile), b, 0o600)
	}
	if err != nil {
		// The profile still applies; the portal sends it again after
		// a restart.
		k.log.Error("cannot save the profile", "err", err)
	}
}

// takeConfig takes a heartbeat answer's "config" (heartbeat goroutine):
// known says the answer carried one; c is nil when it was unreadable,
// and invalid names the fields the portal sent that failed
// profile.Values.Check.
func (k *Kit) takeConfig(known bool, c *profile.Config, invalid []profile.Rejection) {
	switch {
	case !known:
		c, invalid = &profile.Config{}, nil // the room has no profile
	case c == nil:
		return // unreadable: the kit keeps what it has
	}
	p := &k.profiles
	p.mu.Lock()
	last, prev := p.saved.Revision, p.saved.Values
	if p.saved.Pending != nil {
		last = p.saved.Pending.Revision
	}
	p.mu.Unlock()
	if c.Revision == last {
		k.applyPending()
		return
	}

	next := c.Values
	rejected := slices.Clone(invalid)
	for _, r := range rejected {
		next = keepField(next, prev, r.Field)
	}
	for _, r := range k.unfit(prev, next) {
		rejected = append(rejected, r)
		next = keepField(next, prev, r.Field)
	}
	slices.SortStableFunc(rejected, func(a, b profile.Rejection) int {
		return slices.Index(profile.Fields, a.Field) - slices.Index(profile.Fields, b.Field)
	})
	s := profileSaved{Revision: c.Revision, Values: next}
	if c.Revision != "" {
		s.Status = &profile.Status{Revision: c.Revision, State: profile.Applied}
		if len(rejected) > 0 {
			s.Status.State, s.Status.Rejected = profile.Rejected, rejected
		}
	}

	p.mu.Lock()
	restart := startupOf(k.cfg.Settings, next) != p.booted
	if restart {
		p.saved.Pending = &s
	} else {
		p.saved = s
	}
	saved := p.saved
	p.mu.Unlock()
	k.saveProfile(saved)
	k.log.Info("configuration profile", "revision", c.Revision, "rejected", len(rejected), "needs_restart", restart)
	for _, r := range rejected {
		k.log.Warn("profile field rejected", "field", r.Field, "reason", r.Reason)
	}
	if restart {
		k.applyPending()
		return
	}
	k.applyLive(next)
	k.signal()
}

// unfit says which of next's changed fields this kit cannot apply, and
// why. A field equal to prev is in force already: a camera unplugged
// since does not turn it into a rejection.
func (k *Kit) unfit(prev, next profile.Values) []profile.Rejection {
	var out []profile.Rejection
	if l := next.Language; l != "" && l != prev.Language {
		primary, _, _ := strings.Cut(strings.ToLower(l), "-")
		if !slices.Contains(ui.Languages, primary) {
			out = append(out, profile.Rejection{Field: "language",
				Reason: fmt.Sprintf("this kit's screen speaks %s only", strings.Join(ui.Languages, ", "))})
		}
	}
	if c := next.Camera; c != nil && c.Name != "" && (prev.Camera == nil || prev.Camera.Name != c.Name) {
		names := k.cameraNames()
		if !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(strings.ToLower(n), strings.ToLower(c.Name)) }) {
			found := "none"
			if len(names) > 0 {
				found = strings.Join(names, ", ")
			}
			out = append(out, profile.Rejection{Field: "camera", Reason: fmt.Sprintf("no camera named %s; found: %s", c.Name, found)})
		}
	}
	if g := next.GPIO; g != nil && !reflect.DeepEqual(g, prev.GPIO) {
		if why := k.missingPins(*g); why != "" {
			out = append(out, profile.Rejection{Field: "gpio", Reason: why})
		}
	}
	return out
}

// cameraNames are the plugged cameras' names.
func (k *Kit) cameraNames() []string {
	if k.cfg.CameraNames != nil {
		return k.cfg.CameraNames()
	}
	if k.cfg.Camera == nil {
		return nil
	}
	if st := k.cfg.Camera.Status(); st.Present && st.Name != "" {
		return []string{st.Name}
	}
	return nil
}

// missingPins says which of g's pins the kit lacks, "" when it has them.
func (k *Kit) missingPins(g settings.GPIO) string {
	var pins []string
	if k.cfg.GPIOPins != nil {
		pins = k.cfg.GPIOPins()
	}
	var missing []string
	for _, p := range []struct{ role, pin string }{{"mute_button", g.MuteButton}, {"mute_led", g.MuteLED}, {"presence", g.Presence}} {
		if p.pin != "" && !slices.Contains(pins, p.pin) {
			missing = append(missing, fmt.Sprintf("%s (%s)", p.pin, p.role))
		}
	}
	switch {
	case len(missing) == 0:
		return ""
	case len(pins) == 0:
		return "this kit has no GPIO chip"
	}
	return "this kit has no pin " + strings.Join(missing, ", ")
}

// keepField returns next with field's value taken from prev.
func keepField(next, prev profile.Values, field string) profile.Values {
	switch field {
	case "time_zone":
		next.TimeZone = prev.TimeZone
	case "language":
		next.Language = prev.Language
	case "display_rotation":
		next.DisplayRotation = prev.DisplayRotation
	case "volume":
		next.Volume = prev.Volume
	case "camera":
		next.Camera = prev.Camera
	case "gpio":
		next.GPIO = prev.GPIO
	case "update_channel":
		next.UpdateChannel = prev.UpdateChannel
	case "update_window":
		next.UpdateWindow = prev.UpdateWindow
	}
	return next
}

// applyLive applies what needs no restart: the volume each meeting
// starts at. (The screen speaks English only, so a language that passed
// unfit is English; the portal applies the time zone and the update
// policy.)
func (k *Kit) applyLive(v profile.Values) {
	k.meetings.setStartVolume(v.Volume)
}

// applyPending restarts roomd for a pending profile once the kit is
// idle: ready, no meeting running or starting, no update, no reset. It
// takes the kit in one step under the meeting controller's and the
// kit's locks, as BeginUpdate does, so a join cannot slip in; the
// heartbeat calls it with every answer, so it runs within one interval
// of the meeting's end.
func (k *Kit) applyPending() {
	p := &k.profiles
	p.mu.Lock()
	pending := p.saved.Pending != nil
	p.mu.Unlock()
	if !pending {
		return
	}
	mc := k.meetings
	ok := false
	mc.mu.Lock() // before k.mu, as join takes them
	if mc.meet == nil && !mc.joining {
		k.mu.Lock()
		if ok = k.st == Ready && !k.resetReq; ok {
			k.st = Booting
		}
		k.mu.Unlock()
	}
	mc.mu.Unlock()
	if !ok {
		return
	}
	p.mu.Lock()
	s := *p.saved.Pending
	p.saved = s
	p.booted = startupOf(k.cfg.Settings, s.Values)
	p.mu.Unlock()
	k.saveProfile(s)
	k.applyLive(s.Values)
	k.log.Info("restarting roomd: the profile changes the drivers' settings", "revision", s.Revision)
	if k.cfg.RestartRoomd != nil {
		k.cfg.RestartRoomd()
		return
	}
	k.devWG.Go(func() { k.Restart(k.runningVersion()) })
}

// configStatus is the heartbeat's "config": the status of the revision
// in force; nil for none.
func (k *Kit) configStatus() *profile.Status {
	p := &k.profiles
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.saved.Status == nil {
		return nil
	}
	s := *p.saved.Status
	s.Rejected = slices.Clone(s.Rejected)
	return &s
}

// profileLine is what Settings' footer adds for the room's profile, so
// that whoever stands at the kit sees whether it took the admin center's
// settings: " · profile applied", " · profile: camera rejected", " ·
// profile waits for a restart"; "" without one.
func profileLine(c *ConfigStatus) string {
	switch {
	case c == nil:
		return ""
	case c.PendingRevision != "":
		return " · profile waits for a restart"
	case c.State == profile.Rejected:
		var fields []string
		for _, r := range c.Rejected {
			fields = append(fields, r.Field)
		}
		return " · profile: " + strings.Join(fields, ", ") + " rejected"
	}
	return " · profile applied"
}

// ConfigStatus is Status's "config".
type ConfigStatus struct {
	profile.Status
	// PendingRevision is a revision taken that waits for the kit to be
	// idle to restart roomd.
	PendingRevision string `json:"pending_revision,omitempty"`
}

func (k *Kit) configStatusForStatus() *ConfigStatus {
	p := &k.profiles
	p.mu.Lock()
	defer p.mu.Unlock()
	var s ConfigStatus
	if st := p.saved.Status; st != nil {
		s.Status = *st
		s.Rejected = slices.Clone(st.Rejected)
	}
	if pe := p.saved.Pending; pe != nil {
		s.PendingRevision = pe.Revision
	}
	if s.Revision == "" && s.PendingRevision == "" {
		return nil
	}
	return &s
}
