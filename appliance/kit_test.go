package appliance

import (
	"bytes"
	"context"
	"image"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"roomkit/internal/logbuffer"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkit/drivers/display/displaytest"
	"roomkit/drivers/input/inputtest"
	"roomkit/health"
	"roomkit/internal/clock"
	"roomkit/portalapi"
	"roomkit/provisioning"
	"roomkit/ui"
)

// testSize keeps rendering cheap; the UI scales its 1080p layout to it.
var testSize = image.Pt(960, 540)

type harness struct {
	t      *testing.T
	kit    *Kit
	portal *fakePortal
	screen *displaytest.Framebuffer
	touch  *inputtest.Script
	dir    string
	logs   *logbuffer.Buffer
	cancel context.CancelFunc
	done   chan error

	mu    sync.Mutex
	slept []time.Duration // every wait the kit asked for, in order
}

// waits returns the waits the kit asked for so far.
func (h *harness) waits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.slept...)
}

// start runs a kit on dir against portal. Waits are cut short so that the
// test runs at the speed of the machine; what they would have been is not
// what these tests check.
func start(t *testing.T, p *fakePortal, dir string) *harness {
	t.Helper()
	return startWith(t, p, dir, nil)
}

// startWith is start with devices and settings added to the kit's
// Config by with.
func startWith(t *testing.T, p *fakePortal, dir string, with func(*Config)) *harness {
	t.Helper()
	h := startOn(t, p.srv.URL, p.client(), dir, with)
	h.portal = p
	return h
}

// startOn is startWith for any portal, a real one say: h.portal is nil.
func startOn(t *testing.T, portalURL string, client *http.Client, dir string, with func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: dir, logs: &logbuffer.Buffer{},
		screen: displaytest.New(testSize.X, testSize.Y), touch: inputtest.New(16), done: make(chan error, 1)}
	cfg := Config{
		StateDir: dir, PortalURL: portalURL, Version: "0.1.0-test",
		Display: h.screen, Input: h.touch,
		Logger:     slog.New(slog.NewTextHandler(h.logs, nil)),
		HTTPClient: client,
	}
	if with != nil {
		with(&cfg)
	}
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.health.space = func(string) (health.Space, error) { return health.Space{Total: 4e9, Free: 3e9}, nil }
	k.link.sleep = func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.slept = append(h.slept, d)
		h.mu.Unlock()
		return clock.Sleep(ctx, min(d, 2*time.Millisecond))
	}
	h.kit = k
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- k.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("Run: %v", err)
	}
	h.cancel = nil
	if strings.Contains(h.logs.String(), "device-code-") || strings.Contains(h.logs.String(), "access-") {
		h.t.Errorf("the log shows a secret:\n%s", h.logs)
	}
}

// until waits for cond on what the kit shows. The limit only guards
// against a hung test; nothing here measures speed.
func (h *harness) until(what string, cond func(s Status, v ui.View) bool) (Status, ui.View) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The view first: it comes from the screen goroutine, and a
		// status taken after it is at least as new.
		v := h.kit.view()
		s := h.kit.Status()
		if cond(s, v) {
			return s, v
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("never: %s\nstatus: %+v\nview: %+v\nlog:\n%s", what, s, v, h.logs)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// displays waits until the display shows what the kit's view holds and
// cond accepts that view: the screen goroutine draws on its own schedule,
// so a test that checks the display must wait for a frame, not assume one.
func (h *harness) displays(what string, cond func(ui.View) bool) {
	h.t.Helper()
	r := ui.NewRenderer(testSize)
	deadline := time.Now().Add(20 * time.Second)
	seen := -1
	for {
		if n := h.screen.Frames(); n != seen {
			seen = n
			v := h.kit.view()
			if n > 0 && cond(v) && bytes.Equal(h.screen.Frame().Pix, r.Render(v).Pix) {
				return
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the display never showed %s (%d frames shown; view %+v)", what, seen, h.kit.view())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) showingCode() string {
	h.t.Helper()
	_, v := h.until("a pairing code on screen", func(s Status, v ui.View) bool {
		return v.Screen == ui.Pairing && v.UserCode != "" && v.UserCode == h.portal.lastCode()
	})
	return v.UserCode
}

// pairAs approves the code on screen for room.
func (h *harness) pairAs(room provisioning.Room) Status {
	h.t.Helper()
	code := h.showingCode()
	h.portal.setCode(code, "approved", &room)
	s, _ := h.until("the home screen", func(s Status, v ui.View) bool {
		return v.Screen == ui.Home && v.RoomName == room.Name && s.PortalConnected
	})
	return s
}

// tap taps the control for a on the screen the kit shows now. It finds
// the control with the UI's own hit test, so the test follows the layout.
func (h *harness) tap(a ui.ActionKind) {
	h.t.Helper()
	v := h.kit.view()
	r := ui.NewRenderer(testSize)
	for y := 0; y < testSize.Y; y += 6 {
		for x := 0; x < testSize.X; x += 6 {
			if r.Hit(v, image.Pt(x, y)).Kind == a {
				h.touch.Tap(x, y)
				return
			}
		}
	}
	h.t.Fatalf("no %v control on the %v screen", a, v.Screen)
}

var boardroom = provisioning.Room{ID: "rm_1", Name: "Boardroom", Location: "3rd floor", TimeZone: "Europe/Zurich"}

func TestPairingToReadyToUnpaired(t *testing.T) {
	p := newFakePortal(t)
	dir := t.TempDir()
	h := start(t, p, dir)

	s := h.pairAs(boardroom)
	if s.State != Ready || s.Location != "3rd floor" {
		t.Errorf("after approval: %+v", s)
	}
	st, err := provisioning.LoadState(dir)
	if err != nil || st.Room == nil || st.Room.Name != "Boardroom" || st.DeviceID != s.DeviceID || st.PortalURL != p.srv.URL {
		t.Fatalf("state file after pairing: %+v, %v", st, err)
	}
	_, v := h.until("the clock in the room's time zone", func(s Status, v ui.View) bool { return v.Now.Location().String() == "Europe/Zurich" })
	if v.Error != "" {
		t.Errorf("home screen shows an error: %q", v.Error)
	}

	// Heartbeats carry the kit's state, version and devices.
	h.until("heartbeats", func(Status, ui.View) bool { return p.beatCount() >= 2 })
	p.mu.Lock()
	beat := p.beats[0]
	p.mu.Unlock()
	if beat.State != "ready" || beat.Version != "0.1.0-test" || len(beat.Devices) != 2 || beat.Devices[0].Kind != "display" {
		t.Errorf("heartbeat %+v; want ready, the version and the display and input devices", beat)
	}

	// A rename in the admin center reaches the screen and the state file.
	p.rename("Aquarium")
	h.until("the new name", func(s Status, v ui.View) bool { return v.RoomName == "Aquarium" && s.RoomName == "Aquarium" })
	if st, _ := provisioning.LoadState(dir); st.Room.Name != "Aquarium" {
		t.Errorf("state file still names the room %q", st.Room.Name)
	}

	// An access token the portal no longer takes is replaced.
	refreshes := p.grantCount(portalapi.GrantClientCredentials)
	p.revokeTokens()
	h.until("a fresh token", func(s Status, v ui.View) bool {
		return p.grantCount(portalapi.GrantClientCredentials) > refreshes
	})
	s, _ = h.until("heartbeats with the fresh token", func(s Status, v ui.View) bool { return s.PortalConnected && s.State == Ready })
	if m := h.kit.Metrics(); m.HeartbeatsOK < 2 {
		t.Errorf("metrics %+v", m)
	}

	// Unpaired in the admin center: back to pairing with a new code.
	before := p.lastCode()
	p.unpairAll()
	s, v = h.until("pairing again", func(s Status, v ui.View) bool {
		return v.Screen == ui.Pairing && v.UserCode != "" && v.UserCode != before
	})
	if v.Message != msgUnpaired || s.DeviceID == "" {
		t.Errorf("after unpairing: message %q, status %+v", v.Message, s)
	}
	if st, err := provisioning.LoadState(dir); err != nil || st.Room != nil {
		t.Errorf("state file after unpairing: %+v, %v; want no room", st, err)
	}
	// The same identity pairs again.
	s2 := h.pairAs(provisioning.Room{ID: "rm_2", Name: "Library"})
	if s2.DeviceID != s.DeviceID {
		t.Errorf("pairing again changed the identity")
	}
	h.displays("the Library home screen", func(v ui.View) bool { return v.Screen == ui.Home && v.RoomName == "Library" })
}

func TestExpiredAndDeniedCodesAreReplaced(t *testing.T) {
	for _, tc := range []struct {
		state   string
		message string
	}{
		{"expired", ""},
		{"denied", msgDenied},
		{"used", ""}, // invalid_grant
	} {
		t.Run(tc.state, func(t *testing.T) {
			p := newFakePortal(t)
			h := start(t, p, t.TempDir())
			first := h.showingCode()
			p.setCode(first, tc.state, nil)
			_, v := h.until("a fresh code", func(s Status, v ui.View) bool {
				return v.UserCode != "" && v.UserCode != first && v.UserCode == p.lastCode()
			})
			if v.Message != tc.message {
				t.Errorf("message %q, want %q", v.Message, tc.message)
			}
			if v.CodeExpiresIn <= 0 || v.VerificationURI == "" {
				t.Errorf("the fresh code shows no countdown or URL: %+v", v)
			}
			if m := h.kit.Metrics(); m.PairingCodesIssued < 2 {
				t.Errorf("codes issued %d, want 2", m.PairingCodesIssued)
			}
		})
	}
}

func TestPortalDownAtBoot(t *testing.T) {
	p := newFakePortal(t)
	p.down.Store(true)
	h := start(t, p, t.TempDir())
	want := "Cannot reach the portal at " + p.srv.URL + " — retrying "
	s, v := h.until("the error line", func(s Status, v ui.View) bool { return strings.HasPrefix(v.Error, want) })
	if v.Screen != ui.Pairing || v.PortalConnected || s.State != Pairing || s.Error == "" {
		t.Errorf("portal down: view %+v, status %+v", v, s)
	}
	p.down.Store(false)
	h.showingCode()
	_, v = h.until("the error line goes", func(s Status, v ui.View) bool { return v.Error == "" && v.PortalConnected })
	h.pairAs(boardroom)

	// Down again while ready: the kit stays usable, marked offline.
	p.down.Store(true)
	s, v = h.until("offline", func(s Status, v ui.View) bool { return !v.PortalConnected })
	if v.Screen != ui.Home || v.RoomName != "Boardroom" || v.Error != "" {
		t.Errorf("offline home screen: %+v", v)
	}
	p.down.Store(false)
	h.until("back online", func(s Status, v ui.View) bool { return v.PortalConnected && v.Screen == ui.Home })
}

func TestPairedKitBootsOffline(t *testing.T) {
	p := newFakePortal(t)
	dir := t.TempDir()
	h := start(t, p, dir)
	h.pairAs(boardroom)
	h.stop()

	p.down.Store(true)
	h = start(t, p, dir)
	s, v := h.until("home while offline", func(s Status, v ui.View) bool {
		return v.Screen == ui.Home && s.Error == "" && h.kit.Metrics().HeartbeatsFailed > 0
	})
	if v.PortalConnected || v.RoomName != "Boardroom" || s.State != Ready {
		t.Errorf("boot offline: view %+v status %+v", v, s)
	}
	p.down.Store(false)
	h.until("online", func(s Status, v ui.View) bool { return s.PortalConnected })
}

func TestTaps(t *testing.T) {
	p := newFakePortal(t)
	dir := t.TempDir()
	h := start(t, p, dir)
	before := h.pairAs(boardroom)

	// Join opens the keypad (inmeeting_test.go follows it further).
	h.tap(ui.Join)
	h.until("the keypad", func(s Status, v ui.View) bool { return v.Screen == ui.Keypad })
	h.tap(ui.KeypadCancel)
	h.until("home", func(s Status, v ui.View) bool { return v.Screen == ui.Home })

	// Reset lives in Settings.
	h.tap(ui.OpenSettings)
	h.until("settings", func(s Status, v ui.View) bool { return v.Screen == ui.Settings && v.Settings != nil })
	h.tap(ui.OpenReset)
	h.until("the reset confirmation", func(s Status, v ui.View) bool { return v.Screen == ui.ConfirmReset })
	h.tap(ui.CancelReset)
	h.until("settings again", func(s Status, v ui.View) bool { return v.Screen == ui.Settings })
	h.tap(ui.CloseSettings)
	_, v := h.until("home again", func(s Status, v ui.View) bool { return v.Screen == ui.Home })
	if v.RoomName != "Boardroom" {
		t.Errorf("cancel changed the room: %+v", v)
	}

	h.tap(ui.OpenSettings)
	h.until("settings", func(s Status, v ui.View) bool { return v.Screen == ui.Settings })
	h.tap(ui.OpenReset)
	h.until("the reset confirmation", func(s Status, v ui.View) bool { return v.Screen == ui.ConfirmReset })
	h.tap(ui.ConfirmedReset)
	s, v := h.until("pairing with a new identity", func(s Status, v ui.View) bool {
		return v.Screen == ui.Pairing && s.DeviceID != before.DeviceID && v.UserCode != ""
	})
	if v.Message != msgReset || s.RoomName != "" {
		t.Errorf("after reset: view %+v status %+v", v, s)
	}
	id, err := provisioning.LoadOrCreateIdentity(dir)
	if err != nil || id.DeviceID != s.DeviceID || id.Created {
		t.Errorf("identity on disk %+v, %v; want the new one %s", id, err, s.DeviceID)
	}
	if st, err := provisioning.LoadState(dir); err != nil || st.Room != nil {
		t.Errorf("state after reset %+v, %v; want unpaired", st, err)
	}
}

func TestFactoryResetAPI(t *testing.T) {
	p := newFakePortal(t)
	dir := t.TempDir()
	h := start(t, p, dir)
	before := h.pairAs(boardroom)
	if err := h.kit.FactoryReset(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := h.kit.Status()
	if s.State != Pairing || s.DeviceID == before.DeviceID || s.RoomName != "" {
		t.Errorf("status after FactoryReset: %+v", s)
	}
	// The new identity pairs like a new kit.
	h.pairAs(provisioning.Room{ID: "rm_9", Name: "Studio"})
}

func TestBootWithDamagedStorage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(dir string)
		message string
	}{
		// A damaged state file beside a good key: TestDamagedStateRecoversRoom.
		{"damaged state and lost key", func(dir string) {
			os.WriteFile(filepath.Join(dir, provisioning.StateFile), []byte{0xff, 0xfe, 0}, 0o600)
			os.Remove(filepath.Join(dir, provisioning.IdentityFile))
		}, msgNewIdentity},
		{"lost key", func(dir string) { os.Remove(filepath.Join(dir, provisioning.IdentityFile)) }, msgNewIdentity},
		{"damaged key", func(dir string) {
			os.WriteFile(filepath.Join(dir, provisioning.IdentityFile), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n"), 0o600)
		}, msgNewIdentity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePortal(t)
			dir := t.TempDir()
			h := start(t, p, dir)
			h.pairAs(boardroom)
			h.stop()

			tc.damage(dir)
			h = start(t, p, dir)
			_, v := h.until("pairing with the reason", func(s Status, v ui.View) bool {
				return v.Screen == ui.Pairing && v.UserCode != ""
			})
			if v.Message != tc.message {
				t.Errorf("message %q, want %q", v.Message, tc.message)
			}
			h.pairAs(boardroom)
		})
	}
}

func TestTimeZone(t *testing.T) {
	for _, tc := range []struct{ zone, want string }{
		{"Asia/Tokyo", "Asia/Tokyo"},
		{"", "UTC"},
		{"Mars/Olympus_Mons", "UTC"},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			p := newFakePortal(t)
			h := start(t, p, t.TempDir())
			h.pairAs(provisioning.Room{ID: "rm_1", Name: "Room", TimeZone: tc.zone})
			h.until("the clock in "+tc.want, func(s Status, v ui.View) bool { return v.Now.Location().String() == tc.want })
			if logged := strings.Contains(h.logs.String(), "unknown time zone"); logged != (tc.zone == "Mars/Olympus_Mons") {
				t.Errorf("logged an unknown time zone: %v, want %v", logged, !logged)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff()
	var got []time.Duration
	for range 10 {
		got = append(got, b.next())
	}
	for i, d := range got {
		nominal := min(time.Second<<i, time.Minute)
		lo, hi := max(time.Duration(float64(nominal)*0.8), time.Second), min(time.Duration(float64(nominal)*1.2)+50*time.Millisecond, time.Minute)
		if d < lo || d > hi {
			t.Errorf("retry %d waits %v, want %v…%v", i+1, d, lo, hi)
		}
	}
	b.reset()
	if d := b.next(); d > 1200*time.Millisecond {
		t.Errorf("after reset the first retry waits %v, want about 1 s", d)
	}
}
