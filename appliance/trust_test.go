package appliance

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"roomkit/portal"
	"roomkit/portalapi"
	"roomkit/provisioning"
	"roomkit/ui"
)

// realPortal is the portal itself, in process, on loopback, with the real
// clock: what a kit's clock is measured against.
type realPortal struct {
	t     *testing.T
	url   string
	admin string // admin API token
}

func newRealPortal(t *testing.T) *realPortal {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	srv, err := portal.New(portal.Config{DataDir: t.TempDir(), URL: "http://" + ts.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	tok, err := srv.CreateAPIToken("tests")
	if err != nil {
		t.Fatal(err)
	}
	return &realPortal{t: t, url: ts.URL, admin: tok}
}

// api calls the admin REST API and returns the status.
func (p *realPortal) api(method, path string, body any) int {
	p.t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, p.url+path, bytes.NewReader(b))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A kit whose clock is three minutes slow pairs with the real portal,
// stays paired across restarts and heartbeats: it signs its assertions in
// the portal's time, which it reads from the portal's Date header. Then a
// damaged state file costs it nothing, and only the admin center's unpair
// sends it back to pairing.
func TestSlowClockStaysPaired(t *testing.T) {
	p := newRealPortal(t)
	dir := t.TempDir()
	slow := func(c *Config) { c.Now = func() time.Time { return time.Now().Add(-3 * time.Minute) } }
	h := startOn(t, p.url, nil, dir, slow)

	_, v := h.until("a pairing code", func(s Status, v ui.View) bool { return v.UserCode != "" })
	if code := p.api("POST", "/api/v1/admin/pairings", map[string]string{"user_code": v.UserCode, "name": "Boardroom", "location": "3rd floor"}); code != 201 {
		t.Fatalf("pairing in the admin center: %d", code)
	}
	heartbeats := func(what string) {
		t.Helper()
		ok := h.kit.Metrics().HeartbeatsOK
		s, _ := h.until(what, func(s Status, v ui.View) bool {
			return v.Screen == ui.Home && v.RoomName == "Boardroom" && s.PortalConnected && h.kit.Metrics().HeartbeatsOK >= ok+2
		})
		if m := h.kit.Metrics(); m.HeartbeatsFailed != 0 || s.Error != "" {
			t.Errorf("%s: %d heartbeats failed, error line %q", what, m.HeartbeatsFailed, s.Error)
		}
		h.kit.link.mu.Lock()
		client := h.kit.link.client
		h.kit.link.mu.Unlock()
		if off := client.ClockOffset(); off < 3*time.Minute-2*time.Second || off > 3*time.Minute+2*time.Second {
			t.Errorf("%s: the kit takes the portal's clock to be %v ahead, want about 3m", what, off)
		}
	}
	heartbeats("heartbeats after pairing")

	// Restarted, the kit gets its access token with a client assertion
	// (client_credentials), the grant that unpaired slow kits before.
	h.stop()
	h = startOn(t, p.url, nil, dir, slow)
	heartbeats("heartbeats after a restart")

	// A damaged state file: the room comes back from the portal.
	h.stop()
	if err := os.WriteFile(filepath.Join(dir, provisioning.StateFile), []byte(`{"version": 1, "room": {"id`), 0o600); err != nil {
		t.Fatal(err)
	}
	h = startOn(t, p.url, nil, dir, slow)
	heartbeats("heartbeats after recovering from a damaged state file")

	// Unpaired in the admin center: the portal's explicit answer.
	st, err := provisioning.LoadState(dir)
	if err != nil || st.Room == nil {
		t.Fatalf("state after recovery: %+v, %v", st, err)
	}
	if code := p.api("DELETE", "/api/v1/admin/rooms/"+st.Room.ID, nil); code != 204 {
		t.Fatalf("unpairing in the admin center: %d", code)
	}
	_, v = h.until("pairing again", func(s Status, v ui.View) bool { return v.Screen == ui.Pairing && v.UserCode != "" })
	if v.Message != msgUnpaired {
		t.Errorf("after unpairing: message %q, want %q", v.Message, msgUnpaired)
	}
}

// A portal that refuses the kit's assertion for any reason but "not
// paired" leaves the pairing alone: the kit retries with backoff, marked
// offline, and is back once the portal takes it again.
func TestRefusedAssertionKeepsPairing(t *testing.T) {
	p := newFakePortal(t)
	dir := t.TempDir()
	h := start(t, p, dir)
	h.pairAs(boardroom)
	codes := p.lastCode()

	refreshes := p.grantCount(portalapi.GrantClientCredentials)
	p.refuse.Store(true)
	p.revokeTokens()
	h.until("several refused refreshes", func(s Status, v ui.View) bool {
		return p.grantCount(portalapi.GrantClientCredentials) >= refreshes+4 && !s.PortalConnected
	})
	s, v := h.kit.Status(), h.kit.view()
	if s.State != Ready || v.Screen != ui.Home || v.RoomName != "Boardroom" || v.Message == msgUnpaired {
		t.Errorf("refused assertions changed the kit: status %+v, view %+v", s, v)
	}
	if st, err := provisioning.LoadState(dir); err != nil || st.Room == nil || st.Room.ID != boardroom.ID {
		t.Errorf("state file after refused assertions: %+v, %v; want the room kept", st, err)
	}
	if p.lastCode() != codes {
		t.Errorf("the kit asked for a pairing code while paired")
	}

	p.refuse.Store(false)
	beats := p.beatCount()
	h.until("heartbeats again", func(s Status, v ui.View) bool { return s.PortalConnected && p.beatCount() > beats })

	// Only the explicit answer unpairs.
	p.unpairAll()
	_, v = h.until("pairing again", func(s Status, v ui.View) bool { return v.Screen == ui.Pairing && v.UserCode != "" })
	if v.Message != msgUnpaired {
		t.Errorf("message %q, want %q", v.Message, msgUnpaired)
	}
}

// A portal that hands out codes but refuses every poll does not make the
// kit ask for a fresh code every second or two: the waits between codes
// grow.
func TestRefusedPollsBackOff(t *testing.T) {
	p := newFakePortal(t)
	p.refuse.Store(true)
	h := start(t, p, t.TempDir())
	h.until("five codes", func(s Status, v ui.View) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.issued) >= 5
	})
	if !strings.Contains(h.logs.String(), "portal refused the pairing poll") {
		t.Errorf("the log does not say the portal refused the polls:\n%s", h.logs)
	}
	// The waits after each refusal, leaving out the polling interval
	// (5 s here): nominally 1, 2, 4, 8 s, each ±20 %.
	var retries []time.Duration
	for _, d := range h.waits() {
		if d != 5*time.Second {
			retries = append(retries, d)
		}
	}
	if len(retries) < 4 {
		t.Fatalf("waits %v: want a retry wait after each refused poll", h.waits())
	}
	for i := 1; i < 4; i++ {
		if retries[i] <= retries[i-1] {
			t.Errorf("retry waits %v do not grow", retries[:4])
		}
	}
}

// A damaged state file beside a good key: the kit asks the portal for its
// room (client_credentials) before it starts the device flow, and keeps
// the damaged file for a technician. So does a kit whose key has no state
// at all, quietly.
func TestDamagedStateRecoversRoom(t *testing.T) {
	for _, tc := range []struct {
		name     string
		unpaired bool // the portal no longer holds the key
		down     bool // the portal is down at first
		missing  bool // no state file at all (power lost while recovering)
	}{
		{name: "paired"},
		{name: "portal down at first", down: true},
		{name: "unpaired meanwhile", unpaired: true},
		{name: "state file missing", missing: true},
		{name: "state file missing, not paired", missing: true, unpaired: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePortal(t)
			dir := t.TempDir()
			h := start(t, p, dir)
			before := h.pairAs(boardroom)
			h.stop()

			damaged := []byte(`{"version": 1, "device_id": "` + before.DeviceID + `", "room": {"id": "rm_1", "na`)
			if tc.missing {
				os.Remove(filepath.Join(dir, provisioning.StateFile))
			} else if err := os.WriteFile(filepath.Join(dir, provisioning.StateFile), damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.unpaired {
				p.unpairAll()
			}
			p.down.Store(tc.down)
			codes := p.lastCode()
			h = start(t, p, dir)

			if tc.down {
				// Status and view are read one after the other: wait for
				// both to have left booting.
				s, v := h.until("the kit says it cannot reach the portal", func(s Status, v ui.View) bool {
					return strings.HasPrefix(v.Error, "Cannot reach the portal") && s.State == Pairing && strings.HasPrefix(s.Error, "Cannot reach the portal")
				})
				if v.UserCode != "" || s.UserCode != "" || p.lastCode() != codes || v.Message != msgRecovering || s.Message != msgRecovering {
					t.Errorf("while the portal is down: view %+v, status %+v; want no code, only %q", v, s, msgRecovering)
				}
				p.down.Store(false)
			}
			if tc.unpaired {
				_, v := h.until("pairing", func(s Status, v ui.View) bool { return v.Screen == ui.Pairing && v.UserCode != "" })
				want := msgCorrupt
				if tc.missing {
					want = "" // nothing was damaged that the room's staff should hear of
				}
				if v.Message != want {
					t.Errorf("message %q, want %q", v.Message, want)
				}
			} else {
				s, v := h.until("the room back", func(s Status, v ui.View) bool {
					return v.Screen == ui.Home && v.RoomName == "Boardroom" && s.PortalConnected
				})
				if p.lastCode() != codes || v.Message != "" || s.DeviceID != before.DeviceID {
					t.Errorf("after recovery: view %+v, status %+v; want the same identity, no pairing code", v, s)
				}
				st, err := provisioning.LoadState(dir)
				if err != nil || st.Room == nil || *st.Room != boardroom || st.DeviceID != before.DeviceID || st.PortalURL != p.srv.URL {
					t.Errorf("state file after recovery: %+v, %v", st, err)
				}
			}
			aside, _ := filepath.Glob(filepath.Join(dir, provisioning.StateFile+".corrupt-*"))
			if tc.missing {
				if len(aside) != 0 {
					t.Errorf("files moved aside: %v, want none", aside)
				}
				return
			}
			if len(aside) != 1 {
				t.Fatalf("damaged state kept as %v, want one file", aside)
			}
			if b, _ := os.ReadFile(aside[0]); !bytes.Equal(b, damaged) {
				t.Errorf("%s holds %q, want the damaged file as it was", aside[0], b)
			}
		})
	}
}

// A kit told to use plain HTTP across a network refuses: it sends
// nothing, and its screen and roomctl status say why.
func TestPlainHTTPPortalRefused(t *testing.T) {
	var asked atomic.Bool
	refusing := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		asked.Store(true)
		return nil, http.ErrHandlerTimeout
	})}
	h := startOn(t, "http://192.0.2.7:8080", refusing, t.TempDir(), nil)
	want := "Refusing the portal at http://192.0.2.7:8080: plain HTTP would send the kit's credentials unencrypted. Use https://"
	h.displays("the refusal", func(v ui.View) bool { return v.Screen == ui.Pairing && v.Error == want })
	if s := h.kit.Status(); s.Error != want || s.PortalConnected || s.UserCode != "" {
		t.Errorf("status %+v; want the refusal as its error", s)
	}
	h.stop()
	if asked.Load() {
		t.Error("the kit sent a request over plain HTTP")
	}
	if !strings.Contains(h.logs.String(), "refusing the portal URL") {
		t.Errorf("the log does not say why:\n%s", h.logs)
	}

	// Allowed for a test rig, with a warning on screen.
	h = startOn(t, "http://192.0.2.7:8080", refusing, t.TempDir(), func(c *Config) { c.Settings.AllowPlainHTTP = true })
	h.displays("the warning", func(v ui.View) bool {
		return v.Screen == ui.Pairing && (v.Error == msgPlainHTTP || v.Message == msgPlainHTTP)
	})
}
