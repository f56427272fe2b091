package appliance

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roomkit/drivers/display/displaytest"
	"roomkit/profile"
	"roomkit/settings"
	"roomkit/ui"
)

// installed is the installer's settings.json under the profiles of
// these tests.
var installed = settings.Settings{
	Display: settings.Display{Rotate: 180},
	Camera:  settings.Camera{Prefer1080p: true},
	GPIO:    settings.GPIO{MuteButton: "GPIO17"},
}

// newProfileKit is a ready kit on dir with a camera called vivid and
// the pins GPIO17 and GPIO27 (fakes of the hardware's answers); with
// changes its Config first.
func newProfileKit(t *testing.T, dir string, with func(*Config)) *Kit {
	t.Helper()
	cfg := Config{StateDir: dir, PortalURL: "https://portal.example", Version: "0.1.0-test",
		Display: displaytest.New(testSize.X, testSize.Y), Logger: slog.New(slog.DiscardHandler),
		Settings:    installed,
		CameraNames: func() []string { return []string{"vivid"} },
		GPIOPins:    func() []string { return []string{"GPIO17", "GPIO27"} },
	}
	if with != nil {
		with(&cfg)
	}
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.st = Ready
	return k
}

// config is the portal's config for values (JSON), as it checks them.
func config(t *testing.T, values string) *profile.Config {
	t.Helper()
	v, err := profile.Parse([]byte(values))
	if err != nil {
		t.Fatal(err)
	}
	c := profile.NewConfig(v)
	return &c
}

// restarted waits for what the kit started and says whether it
// restarted its state machine for the profile.
func restarted(k *Kit) bool {
	k.devWG.Wait()
	return k.state() == Booting
}

func rejectedText(s *profile.Status) string {
	if s == nil {
		return "<none>"
	}
	var parts []string
	for _, r := range s.Rejected {
		parts = append(parts, r.Field+": "+r.Reason)
	}
	return s.State + " " + strings.Join(parts, "; ")
}

// TestProfileFields: each field of a profile, applied or rejected with
// its reason, and whether it restarts roomd (the fields the drivers
// open with do, when they change what the drivers run with).
func TestProfileFields(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  string
		invalid []profile.Rejection // fields the portal sent that failed Check (portalapi)
		noGPIO  bool
		want    string // state and rejections
		restart bool
		volume  int // the speaker's volume after (the kit's default is 70)
		startup startup
	}{
		{"volume applies at once", `{"volume":40}`, nil, false, "applied ", false, 40,
			startup{Rotate: 180, Prefer1080p: true, GPIO: installed.GPIO}},
		{"an English dialect", `{"language":"en-GB"}`, nil, false, "applied ", false, 70,
			startup{Rotate: 180, Prefer1080p: true, GPIO: installed.GPIO}},
		{"another language is rejected, the rest applies", `{"language":"de-CH","volume":35}`, nil, false,
			"rejected language: this kit's screen speaks en only", false, 35, startup{Rotate: 180, Prefer1080p: true, GPIO: installed.GPIO}},
		{"a rotation restarts", `{"display_rotation":90}`, nil, false, "applied ", true, 70,
			startup{Rotate: 90, Prefer1080p: true, GPIO: installed.GPIO}},
		{"settings.json's rotation again does not", `{"display_rotation":180}`, nil, false, "applied ", false, 70,
			startup{Rotate: 180, Prefer1080p: true, GPIO: installed.GPIO}},
		{"a plugged camera by name", `{"camera":{"name":"VIVID","prefer_1080p":false}}`, nil, false, "applied ", true, 70,
			startup{Rotate: 180, CameraName: "VIVID", GPIO: installed.GPIO}},
		{"a camera not plugged in", `{"camera":{"name":"Logitech"},"volume":30}`, nil, false,
			"rejected camera: no camera named Logitech; found: vivid", false, 30, startup{Rotate: 180, Prefer1080p: true, GPIO: installed.GPIO}},
		{"GPIO pins the kit has", `{"gpio":{"mute_button":"GPIO27","mute_led":"GPIO17"}}`, nil, false, "applied ", true, 70,
			startup{Rotate: 180, Prefer1080p: true, GPIO: settings.GPIO{MuteButton: "GPIO27", MuteLED: "GPIO17"}}},
		{"a pin the kit lacks", `{"gpio":{"mute_button":"GPIO99","presence":"GPIO27"}}`, nil, false,
			"rejected gpio: this kit has no pin GPIO99 (mute_button)", false, 70, startup{Rotate: 180, Prefer1080p: true, GPIO: installed.GPIO}},
		{"no GPIO chip", `{"gpio":{"mute_button":"GPIO17"},"display_rotation":270}`, nil, true,
			"rejected gpio: this kit has no GPIO chip", true, 70, startup{Rotate: 270, Prefer1080p: true, GPIO: installed.GPIO}},
		{"the portal's fields count as applied", `{"time_zone":"Europe/Zurich","update_channel":"beta","update_window":{"start":"01:00","end":"04:00"}}`,
			nil, false, "applied ", false, 70, startup{Rotate: 180, Prefer1080p: true, GPIO: installed.GPIO}},
		{"an invalid field from the portal is never applied", `{"display_rotation":0}`,
			[]profile.Rejection{{Field: "volume", Reason: "volume 130: want 0 to 100"}}, false,
			"rejected volume: volume 130: want 0 to 100", true, 70, startup{Rotate: 0, Prefer1080p: true, GPIO: installed.GPIO}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k := newProfileKit(t, dir, func(c *Config) {
				if tc.noGPIO {
					c.GPIOPins = nil
				}
			})
			c := config(t, tc.values)
			k.takeConfig(true, c, tc.invalid)
			st := k.configStatus()
			if got := rejectedText(st); got != tc.want || st.Revision != c.Revision {
				t.Errorf("status %s for %s, want %q for %s", got, st.Revision, tc.want, c.Revision)
			}
			if err := st.Check(); err != nil {
				t.Errorf("the portal would refuse the status: %v", err)
			}
			if got := restarted(k); got != tc.restart {
				t.Errorf("restarted %v, want %v", got, tc.restart)
			}
			if _, v := k.meetings.levels(); v != tc.volume {
				t.Errorf("volume %d, want %d", v, tc.volume)
			}
			s, name := StartupSettings(dir, installed)
			got := startup{Rotate: s.Display.Rotate, Prefer1080p: s.Camera.Prefer1080p, CameraName: name, GPIO: s.GPIO}
			if got != tc.startup {
				t.Errorf("roomd would open the drivers with %+v, want %+v", got, tc.startup)
			}
		})
	}
}

// TestProfilePrecedence: a field the profile sets wins over
// settings.json, one it leaves out falls back to it; a rejected field
// keeps its previous value; a room whose profile goes (an answer
// without "config") is back to settings.json alone.
func TestProfilePrecedence(t *testing.T) {
	dir := t.TempDir()
	k := newProfileKit(t, dir, nil)
	startupNow := func() startup {
		s, name := StartupSettings(dir, installed)
		return startup{Rotate: s.Display.Rotate, Prefer1080p: s.Camera.Prefer1080p, CameraName: name, GPIO: s.GPIO}
	}

	// Only the rotation: the camera and the pins stay settings.json's.
	k.takeConfig(true, config(t, `{"display_rotation":90,"camera":{"name":"vivid"},"volume":40}`), nil)
	if !restarted(k) {
		t.Fatal("no restart for a new rotation")
	}
	k.st = Ready
	if got, want := startupNow(), (startup{Rotate: 90, Prefer1080p: true, CameraName: "vivid", GPIO: installed.GPIO}); got != want {
		t.Errorf("startup %+v, want %+v", got, want)
	}

	// A camera that is not there: the camera stays vivid, the volume
	// changes.
	b := config(t, `{"display_rotation":90,"camera":{"name":"Logitech"},"volume":50}`)
	k.takeConfig(true, b, nil)
	if got := rejectedText(k.configStatus()); got != "rejected camera: no camera named Logitech; found: vivid" {
		t.Errorf("status %s", got)
	}
	if restarted(k) {
		t.Error("restarted for a rejected camera")
	}
	if got := startupNow(); got.CameraName != "vivid" {
		t.Errorf("the camera preference is now %q, want vivid kept", got.CameraName)
	}
	if _, v := k.meetings.levels(); v != 50 {
		t.Errorf("volume %d, want 50", v)
	}

	// The same revision again (every heartbeat): nothing new.
	k.takeConfig(true, b, nil)
	if restarted(k) {
		t.Error("restarted for a revision already taken")
	}

	// The room's profile is gone: settings.json alone, by a restart, and
	// the kit reports nothing (the answer had no "config").
	k.takeConfig(false, nil, nil)
	if !restarted(k) {
		t.Error("no restart back to settings.json's rotation")
	}
	if got, want := startupNow(), (startup{Rotate: 180, Prefer1080p: true, GPIO: installed.GPIO}); got != want {
		t.Errorf("startup %+v, want settings.json's %+v", got, want)
	}
	if s := k.configStatus(); s != nil {
		t.Errorf("status %+v for no profile", s)
	}

	// An unreadable config (known, nil) keeps what the kit has.
	k.st = Ready
	k.takeConfig(true, config(t, `{"volume":20}`), nil)
	k.takeConfig(true, nil, nil)
	if s := k.configStatus(); s == nil || s.State != profile.Applied {
		t.Errorf("an unreadable config changed the status: %+v", s)
	}
}

// TestProfileWaitsForIdle: a profile that restarts roomd never does so
// in a meeting, while one starts, or while an update installs: it waits
// and goes with the first heartbeat answer after, and the kit reports
// the revision it runs until then.
func TestProfileWaitsForIdle(t *testing.T) {
	for _, tc := range []struct {
		name  string
		busy  func(k *Kit)
		again func(k *Kit)
	}{
		{"a meeting", func(k *Kit) { inFakeMeeting(k) }, func(k *Kit) { k.meetings.meet = nil }},
		{"a meeting starting", func(k *Kit) { k.meetings.joining = true }, func(k *Kit) { k.meetings.joining = false }},
		{"an update", func(k *Kit) {
			if _, ok := k.BeginUpdate("0.2.0"); !ok {
				t.Fatal("BeginUpdate refused")
			}
		}, func(k *Kit) { k.st = Ready }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k := newProfileKit(t, dir, nil)
			first := config(t, `{"volume":40}`)
			k.takeConfig(true, first, nil)
			tc.busy(k)
			second := config(t, `{"display_rotation":90}`)
			k.takeConfig(true, second, nil)
			k.takeConfig(true, second, nil) // the next heartbeat's answer
			if restarted(k) {
				t.Fatal("restarted while busy")
			}
			if s := k.configStatus(); s == nil || s.Revision != first.Revision {
				t.Errorf("reports %+v while the new revision waits; want the one in force, %s", s, first.Revision)
			}
			if s := k.configStatusForStatus(); s == nil || s.PendingRevision != second.Revision || s.Revision != first.Revision {
				t.Errorf("status's config %+v", s)
			}
			tc.again(k)
			k.takeConfig(true, second, nil) // the first answer after
			if !restarted(k) {
				t.Fatal("no restart once idle")
			}
			if s := k.configStatus(); s == nil || s.Revision != second.Revision || s.State != profile.Applied {
				t.Errorf("after the restart: %+v", s)
			}
			if s := k.configStatusForStatus(); s.PendingRevision != "" {
				t.Errorf("still pending: %+v", s)
			}
		})
	}
}

// TestProfilePersists: the profile and its status outlive a restart
// without the portal; one that was waiting for a restart is in force
// after any restart (roomd opened the drivers with it).
func TestProfilePersists(t *testing.T) {
	dir := t.TempDir()
	k := newProfileKit(t, dir, nil)
	a := config(t, `{"volume":25,"language":"de"}`)
	k.takeConfig(true, a, nil)
	inFakeMeeting(k)
	b := config(t, `{"volume":25,"language":"de","display_rotation":270}`)
	k.takeConfig(true, b, nil)

	// A power cut in the meeting: the kit comes back without its portal.
	s, _ := StartupSettings(dir, installed)
	if s.Display.Rotate != 270 {
		t.Errorf("roomd would open the display at %d°, want the waiting profile's 270", s.Display.Rotate)
	}
	k2 := newProfileKit(t, dir, nil)
	st := k2.configStatus()
	if got := rejectedText(st); st == nil || st.Revision != b.Revision || got != "rejected language: this kit's screen speaks en only" {
		t.Errorf("after the restart: %s for %v, want revision %s", got, st, b.Revision)
	}
	if _, v := k2.meetings.levels(); v != 25 {
		t.Errorf("volume %d after the restart, want 25", v)
	}
	k2.takeConfig(true, b, nil)
	if restarted(k2) {
		t.Error("restarted again for the revision it runs")
	}

	// A damaged file: settings.json alone, and the kit runs.
	if err := os.WriteFile(filepath.Join(dir, profileFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, name := StartupSettings(dir, installed); s.Display.Rotate != 180 || name != "" {
		t.Errorf("a damaged profile gives %+v, %q", s.Display, name)
	}
	if k3 := newProfileKit(t, dir, nil); k3.configStatus() != nil {
		t.Error("a damaged profile gives a status")
	}
	var saved profileSaved
	k.takeConfig(true, config(t, `{"volume":10}`), nil)
	b2, _ := os.ReadFile(filepath.Join(dir, profileFile))
	if err := json.Unmarshal(b2, &saved); err != nil || saved.Values.Volume == nil {
		t.Errorf("the file after a new config: %s, %v", b2, err)
	}
}

// TestProfileMeetingVolume: each meeting starts at the profile's volume,
// whatever the last one ended at; one under way keeps its own.
func TestProfileMeetingVolume(t *testing.T) {
	k := newProfileKit(t, t.TempDir(), nil)
	sess := inFakeMeeting(k)
	k.takeConfig(true, config(t, `{"volume":30}`), nil)
	if _, v := k.meetings.levels(); v != 70 || sess.volume != -1 {
		t.Errorf("the meeting under way changed to %d (session %d)", v, sess.volume)
	}

	r := newControllerRig(t)
	v := 30
	r.mc.setStartVolume(&v)
	for i := range 2 {
		if err := r.mc.meetNow(t.Context()); err != nil {
			t.Fatal(err)
		}
		<-r.ev.joins
		s := r.ss.last()
		s.mu.Lock()
		got := s.volume
		s.mu.Unlock()
		if _, level := r.mc.levels(); got != 30 || level != 30 {
			t.Errorf("meeting %d starts at %d (session %d), want 30", i+1, level, got)
		}
		r.mc.setVolume(func(int) int { return 85 })
		if err := r.mc.leave(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProfileOverHTTP: a portal (the fake, on loopback) starts sending
// the room's profile; the kit's heartbeats carry its status only from
// then on. A profile that turns the display restarts the kit's state
// machine (a sim kit's restart) and the next heartbeats report the new
// revision applied; a camera that is not there is rejected in words.
func TestProfileOverHTTP(t *testing.T) {
	p := newFakePortal(t)
	dir := t.TempDir()
	h := startWith(t, p, dir, func(c *Config) {
		c.Settings = installed
		c.CameraNames = func() []string { return []string{"vivid"} }
	})
	h.pairAs(boardroom)
	configs := func() []*profile.Status {
		p.mu.Lock()
		defer p.mu.Unlock()
		var out []*profile.Status
		for _, b := range p.beats {
			out = append(out, b.Config)
		}
		return out
	}
	h.until("two heartbeats", func(Status, ui.View) bool { return len(configs()) >= 2 })
	for _, c := range configs() {
		if c != nil {
			t.Fatalf("a heartbeat to a portal that sent no config carried one: %+v", c)
		}
	}

	send := func(values string) *profile.Config {
		c := config(t, values)
		b, _ := json.Marshal(c)
		p.mu.Lock()
		p.config = b
		p.mu.Unlock()
		return c
	}
	reported := func(rev string) *profile.Status {
		var got *profile.Status
		h.until("a heartbeat reporting "+rev, func(Status, ui.View) bool {
			cs := configs()
			got = cs[len(cs)-1]
			return got != nil && got.Revision == rev
		})
		return got
	}

	a := send(`{"volume":45,"camera":{"name":"Logitech"}}`)
	if got := rejectedText(reported(a.Revision)); got != "rejected camera: no camera named Logitech; found: vivid" {
		t.Errorf("reported %s", got)
	}
	if s := h.kit.Status(); s.Volume != 45 || s.Config == nil || s.Config.Revision != a.Revision || s.Config.State != profile.Rejected {
		t.Errorf("status: volume %d, config %+v", s.Volume, s.Config)
	}

	b := send(`{"volume":45,"display_rotation":90}`)
	if got := rejectedText(reported(b.Revision)); got != "applied " {
		t.Errorf("reported %s", got)
	}
	if !strings.Contains(h.logs.String(), "restarting roomd: the profile changes the drivers' settings") {
		t.Error("no restart logged for the rotation")
	}
	h.until("ready again", func(s Status, v ui.View) bool { return s.State == Ready && v.Screen == ui.Home })
	if s, _ := StartupSettings(dir, installed); s.Display.Rotate != 90 {
		t.Errorf("roomd would open the display at %d°", s.Display.Rotate)
	}

	// Settings' footer says so.
	h.tap(ui.OpenSettings)
	h.until("Settings with the profile", func(s Status, v ui.View) bool {
		return v.Screen == ui.Settings && v.Settings != nil && strings.HasSuffix(v.Settings.Version, " · profile applied")
	})

	// roomctl status -json shows it.
	js, _ := json.Marshal(h.kit.Status())
	if !strings.Contains(string(js), `"config":{"revision":"`+b.Revision+`","state":"applied"}`) {
		t.Errorf("status JSON: %s", js)
	}
}

func TestProfileLine(t *testing.T) {
	for _, tc := range []struct {
		c    *ConfigStatus
		want string
	}{
		{nil, ""},
		{&ConfigStatus{Status: profile.Status{Revision: "0123456789abcdef", State: profile.Applied}}, " · profile applied"},
		{&ConfigStatus{Status: profile.Status{Revision: "0123456789abcdef", State: profile.Rejected,
			Rejected: []profile.Rejection{{Field: "language"}, {Field: "gpio"}}}}, " · profile: language, gpio rejected"},
		{&ConfigStatus{PendingRevision: "0123456789abcdef"}, " · profile waits for a restart"},
	} {
		if got := profileLine(tc.c); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.c, got, tc.want)
		}
	}
}

// FuzzLoadProfile: whatever profile.json holds, the kit gets settings
// that pass settings.json's own checks, or settings.json's.
func FuzzLoadProfile(f *testing.F) {
	f.Add([]byte(`{"revision":"0123456789abcdef","values":{"display_rotation":90,"gpio":{"mute_button":"GPIO17"}},"status":{"revision":"0123456789abcdef","state":"applied"}}`))
	f.Add([]byte(`{"values":{},"pending":{"revision":"0123456789abcdef","values":{"display_rotation":45}}}`))
	f.Add([]byte(`{"pending":{"pending":{}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, profileFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, _ := StartupSettings(dir, installed)
		if err := s.Check(); err != nil {
			t.Errorf("startup settings fail their check: %v", err)
		}
	})
}
