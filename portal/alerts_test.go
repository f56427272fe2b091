package portal

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roomkit/health"
)

// alertEnv is a portal with one paired kit, "Board Room" in Zurich
// (UTC+1 in November: the clock's 09:00 UTC is 10:00 there).
type alertEnv struct {
	*env
	kit    *kit
	roomID string
}

func newAlertEnv(t *testing.T, cfg Config, prep func(*Server)) *alertEnv {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	e := startEnv(t, httptest.NewUnstartedServer(nil), &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}, cfg, prep)
	k := e.newKit()
	id, _ := e.pairKit(k, "Board Room")
	return &alertEnv{env: e, kit: k, roomID: id}
}

// beat sends a heartbeat with a fresh access token (the clock may have
// passed the last one's 15 minutes).
func (e *alertEnv) beat(body string) {
	e.t.Helper()
	st, m := e.kit.refresh()
	if st != 200 {
		e.t.Fatalf("refresh: %d %v", st, m)
	}
	if st, b := e.heartbeat(m["access_token"].(string), body); st != 200 {
		e.t.Fatalf("heartbeat: %d %s", st, b)
	}
}

// eval runs the janitor's alert round at the clock's now.
func (e *alertEnv) eval() {
	e.t.Helper()
	if err := e.srv.evaluateAlerts(); err != nil {
		e.t.Fatal(err)
	}
}

// minutes advances the clock minute by minute, evaluating like the
// janitor, beating first each minute when online.
func (e *alertEnv) minutes(n int, online bool) {
	e.t.Helper()
	for range n {
		e.clock.Advance(time.Minute)
		if online {
			e.beat(goodHeartbeat)
		}
		e.eval()
	}
}

func (e *alertEnv) alerts(state string) []Alert {
	e.t.Helper()
	code, _, b := e.admin("GET", "/api/v1/admin/alerts?state="+state, nil)
	if code != 200 {
		e.t.Fatalf("GET alerts: %d %s", code, b)
	}
	var a alertsAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		e.t.Fatal(err)
	}
	return a.Alerts
}

func (e *alertEnv) only(state string) Alert {
	e.t.Helper()
	as := e.alerts(state)
	if len(as) != 1 {
		e.t.Fatalf("%d %s alerts, want 1: %+v", len(as), state, as)
	}
	return as[0]
}

// beatWith is a heartbeat carrying a health tree and an update report.
func beatWith(h *health.Report, update string) string {
	m := map[string]any{"state": "ready", "version": "1.4.0", "uptime_seconds": 60, "devices": []Device{}}
	if h != nil {
		m["health"] = h
	}
	if update != "" {
		m["update"] = json.RawMessage(update)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// tree is a kit's health summary with the given checks failing or
// degraded; the rest pass.
func tree(at time.Time, bad ...health.Node) *health.Report {
	r := health.Report{Status: health.OK}
	names := []string{"Network", "Display", "Touch", "Camera", "Speakerphone", "Storage", "Updates"}
	for _, n := range names {
		node := health.Node{Name: n, Status: health.OK, Since: at, Checks: []health.Node{}}
		for _, b := range bad {
			if b.Name == n {
				node = b
				node.Since, node.Checks = at, []health.Node{}
				r.Status = r.Status.Worse(b.Status)
			}
		}
		r.Checks = append(r.Checks, node)
	}
	return &r
}

func TestAlertOfflineThreshold(t *testing.T) {
	e := newAlertEnv(t, Config{}, nil)
	e.beat(goodHeartbeat) // 09:00 UTC, 10:00 in Zurich
	for _, step := range []struct {
		advance time.Duration
		open    string // "": no alert yet
	}{
		{time.Minute, ""},
		{9 * time.Minute, ""}, // 10 min: not more than N
		{30 * time.Second, "Board Room: offline since 10:00 (10 min)"},
		{2 * time.Minute, "Board Room: offline since 10:00 (12 min)"}, // the minutes count on
	} {
		e.clock.Advance(step.advance)
		e.eval()
		as := e.alerts("open")
		if step.open == "" {
			if len(as) != 0 {
				t.Fatalf("at %v: alert opened before the threshold: %+v", e.clock.Now(), as)
			}
			continue
		}
		if len(as) != 1 || as[0].Message != step.open || as[0].Kind != AlertOffline || as[0].Count != 1 || as[0].RoomID != e.roomID {
			t.Fatalf("at %v: %+v, want one alert %q", e.clock.Now(), as, step.open)
		}
	}
	// A shorter threshold is honoured.
	e2 := newAlertEnv(t, Config{Alerts: AlertConfig{OfflineAfter: 3 * time.Minute}}, nil)
	e2.beat(goodHeartbeat)
	e2.minutes(3, false)
	if as := e2.alerts("open"); len(as) != 0 {
		t.Fatalf("3 min offline with a 3 min threshold: %+v", as)
	}
	e2.minutes(1, false)
	e2.only("open")
}

func TestAlertFlapping(t *testing.T) {
	for _, tc := range []struct {
		name      string
		onlineMin int
		wantCount int
	}{
		// Back for a minute each time: never clear long enough to resolve.
		{"short blips", 1, 1},
		// Back for six minutes: resolves, then reopens within the hold time.
		{"resolving between", 6, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAlertEnv(t, Config{}, nil)
			e.beat(goodHeartbeat)
			for cycle := range 10 {
				e.minutes(11, false)
				if as := e.alerts("open"); len(as) != 1 {
					t.Fatalf("cycle %d: %d open alerts after 11 min offline", cycle, len(as))
				}
				if cycle < 9 {
					e.beat(goodHeartbeat)
					e.eval()
					e.minutes(tc.onlineMin, true)
				}
			}
			all := e.alerts("all")
			if len(all) != 1 {
				t.Fatalf("ten offline/online cycles made %d alerts, want 1: %+v", len(all), all)
			}
			if a := all[0]; a.State != alertOpen || a.Count != tc.wantCount {
				t.Errorf("alert %+v: want open, count %d", a, tc.wantCount)
			}
			var entries int
			if err := e.srv.db.QueryRow("SELECT COUNT(*) FROM alerts").Scan(&entries); err != nil || entries != 1 {
				t.Errorf("alerts table has %d rows (%v)", entries, err)
			}
		})
	}
}

func TestAlertRecovery(t *testing.T) {
	e := newAlertEnv(t, Config{Alerts: AlertConfig{Clear: 5 * time.Minute}}, nil)
	e.beat(goodHeartbeat)
	e.minutes(11, false)
	open := e.only("open")
	// Back at 09:11 UTC; the message keeps how long it was off.
	e.beat(goodHeartbeat)
	e.eval()
	e.minutes(4, true)
	if a := e.only("open"); a.ID != open.ID {
		t.Fatalf("a different alert: %+v", a)
	}
	e.minutes(1, true)
	if as := e.alerts("open"); len(as) != 0 {
		t.Fatalf("still open after 5 min clear: %+v", as)
	}
	r := e.only("resolved")
	if r.ID != open.ID || r.Resolved == nil || !r.Resolved.Equal(e.clock.Now()) || r.Message != "Board Room: offline since 10:00 (11 min)" {
		t.Fatalf("resolved alert: %+v", r)
	}
	// Long after the hold time, a new outage is a new alert.
	e.clock.Advance(2 * time.Hour)
	e.eval()
	if as := e.alerts("all"); len(as) != 2 || as[0].State != alertOpen || as[0].ID == open.ID || as[0].Count != 1 {
		t.Fatalf("after the hold time: %+v", as)
	}
}

// TestAlertConditions covers what the heartbeat's health summary and
// update report raise, each opening after its raise time and resolving
// once the kit reports it gone for the clear time.
func TestAlertConditions(t *testing.T) {
	at := time.Date(2026, 11, 2, 8, 59, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		bad     string
		raise   int // minutes before it opens
		kind    string
		subject string
		message string
	}{
		{"camera missing", beatWith(tree(at, health.Node{Name: "Camera", Status: health.Failed, Detail: "/dev/video0 not found"}), ""), 2,
			AlertDevice, "Camera", "Board Room: camera missing: /dev/video0 not found"},
		{"speakerphone unplugged", beatWith(tree(at, health.Node{Name: "Speakerphone", Status: health.Failed, Detail: "unplugged"}), ""), 2,
			AlertDevice, "Speakerphone", "Board Room: speakerphone missing: unplugged"},
		{"touch failed", beatWith(tree(at, health.Node{Name: "Touch", Status: health.Failed, Detail: "no input device"}), ""), 2,
			AlertDevice, "Touch", "Board Room: touch screen missing: no input device"},
		{"disk nearly full", beatWith(tree(at, health.Node{Name: "Storage", Status: health.Degraded, Detail: "/perm/roomkit is nearly full: 40 MB free of 4.0 GB"}), ""), 2,
			AlertDisk, "", "Board Room: storage: /perm/roomkit is nearly full: 40 MB free of 4.0 GB"},
		{"update rolled back", beatWith(nil, `{"state":"rolled-back","target_version":"1.5.0","error":"","last":{"version":"1.5.0","outcome":"rolled-back","reason":"Camera: not found","at":"2026-11-02T08:58:00Z"}}`), 0,
			AlertUpdate, "", "Board Room: update to 1.5.0 rolled back: Camera: not found"},
		{"rolled back, kit idle again", beatWith(nil, `{"state":"idle","target_version":"","error":"","last":{"version":"1.5.0","outcome":"rolled-back","reason":"trial boot not healthy","at":"2026-11-02T08:58:00Z"}}`), 0,
			AlertUpdate, "", "Board Room: update to 1.5.0 rolled back: trial boot not healthy"},
		{"update failed", beatWith(nil, `{"state":"failed","target_version":"1.5.0","error":"signature check failed"}`), 0,
			AlertUpdate, "", "Board Room: update to 1.5.0 failed: signature check failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAlertEnv(t, Config{}, nil)
			e.beat(tc.bad)
			e.eval()
			for m := range tc.raise {
				if as := e.alerts("all"); len(as) != 0 {
					t.Fatalf("open after %d of %d minutes: %+v", m, tc.raise, as)
				}
				e.clock.Advance(time.Minute)
				e.beat(tc.bad)
				e.eval()
			}
			a := e.only("open")
			if a.Kind != tc.kind || a.Subject != tc.subject || a.Message != tc.message {
				t.Fatalf("alert %+v, want %s/%s %q", a, tc.kind, tc.subject, tc.message)
			}
			// The kit reports it fixed: resolved after the clear time.
			good := beatWith(tree(at), `{"state":"healthy","target_version":"1.5.1","error":"","last":{"version":"1.5.1","outcome":"healthy","at":"2026-11-02T09:30:00Z"}}`)
			e.beat(good)
			e.eval()
			for range 4 {
				e.clock.Advance(time.Minute)
				e.beat(good)
				e.eval()
			}
			e.only("open")
			e.clock.Advance(time.Minute)
			e.beat(good)
			e.eval()
			if r := e.only("resolved"); r.ID != a.ID {
				t.Fatalf("resolved %+v", r)
			}
		})
	}
}

// TestAlertDependencyIsNoDevice: a check that failed only because what it
// depends on failed names no missing device.
func TestAlertDependencyIsNoDevice(t *testing.T) {
	r := Room{ID: "r", Name: "Board Room", Health: &health.Report{Status: health.Failed, Checks: []health.Node{
		{Name: "Network", Status: health.Failed, Detail: "no network", Checks: []health.Node{
			{Name: "Camera", Status: health.Failed, Detail: "dependency Network failed"}}}}}}
	if c := newAlerter(AlertConfig{}).conditions([]Room{r}, time.Now()); len(c) != 0 {
		t.Fatalf("conditions %+v", c)
	}
}

func TestAlertsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	e := startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DataDir: dir}, nil)
	k := e.newKit()
	id, tok := e.pairKit(k, "Board Room")
	if st, b := e.heartbeat(tok, goodHeartbeat); st != 200 {
		t.Fatalf("heartbeat: %d %s", st, b)
	}
	c.Advance(11 * time.Minute)
	if err := e.srv.evaluateAlerts(); err != nil {
		t.Fatal(err)
	}
	ae := &alertEnv{env: e, kit: k, roomID: id}
	a := ae.only("open")
	code, _, b := e.admin("POST", fmt.Sprintf("/api/v1/admin/alerts/%d/ack", a.ID), nil)
	if code != 200 {
		t.Fatalf("ack: %d %s", code, b)
	}
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}

	e2 := newEnvIn(t, dir, c)
	ae2 := &alertEnv{env: e2, kit: &kit{e: e2, key: k.key}, roomID: id}
	got := ae2.only("open")
	if got.ID != a.ID || got.AckedBy != `token "tests"` || got.AckedAt == nil || got.Message != "Board Room: offline since 10:00 (11 min)" {
		t.Fatalf("after restart: %+v", got)
	}
	// Still the same alert: it resolves, it does not open twice.
	ae2.eval()
	ae2.beat(goodHeartbeat)
	ae2.eval()
	ae2.minutes(5, true)
	if r := ae2.only("all"); r.ID != a.ID || r.State != alertResolved {
		t.Fatalf("after recovery: %+v", r)
	}
	log, err := e2.srv.auditLog(50)
	if err != nil {
		t.Fatal(err)
	}
	var acked bool
	for _, l := range log {
		acked = acked || (l.Action == "acknowledge alert" && strings.Contains(l.Detail, "Board Room: offline since 10:00"))
	}
	if !acked {
		t.Errorf("the acknowledgement is not in the audit log: %+v", log)
	}
}

func TestAlertBadRequests(t *testing.T) {
	e := newAlertEnv(t, Config{}, nil)
	e.beat(goodHeartbeat)
	e.minutes(11, false)
	open := e.only("open")
	e.beat(goodHeartbeat)
	e.minutes(6, true)
	for _, tc := range []struct {
		method, path, body string
		code               int
		says               string
	}{
		{"GET", "/api/v1/admin/alerts?state=bogus", "", 400, "state must be open, resolved or all"},
		{"POST", "/api/v1/admin/alerts/999/ack", "", 404, "There is no alert 999."},
		{"POST", "/api/v1/admin/alerts/x/ack", "", 404, `There is no alert "x".`},
		{"POST", fmt.Sprintf("/api/v1/admin/alerts/%d/ack", open.ID), "", 409, "is resolved already"},
		{"POST", "/api/v1/admin/webhooks", `{"url":""}`, 400, "Give the webhook's URL"},
		{"POST", "/api/v1/admin/webhooks", `{"url":"ftp://example.com/x"}`, 400, "is not an http:// or https:// URL"},
		{"POST", "/api/v1/admin/webhooks", `{"url":"https://user:pw@example.com/x"}`, 400, "Put no user name or password in the URL"},
		{"POST", "/api/v1/admin/webhooks", `{"url":"https://example.com/x","secret":"short"}`, 400, "The secret must be 16 to 200 characters"},
		{"POST", "/api/v1/admin/webhooks", `{"url":"https://example.com/x","secret":"has spaces in the secret"}`, 400, "printable characters without spaces"},
		{"POST", "/api/v1/admin/webhooks", `{"url":"https://example.com/x","token":"x"}`, 400, `unknown field "token"`},
		{"DELETE", "/api/v1/admin/webhooks/42", "", 404, "There is no webhook 42."},
	} {
		code, _, b := e.admin(tc.method, tc.path, tc.body)
		if code != tc.code || !strings.Contains(errCode(t, b), tc.says) {
			t.Errorf("%s %s %s: %d %s, want %d saying %q", tc.method, tc.path, tc.body, code, b, tc.code, tc.says)
		}
	}
}

// BenchmarkEvaluateAlerts is one janitor round over 10,000 rooms, each
// reporting a failed camera and 1,000 of them offline: the steady state,
// every alert already open.
func BenchmarkEvaluateAlerts(b *testing.B) {
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	srv, err := New(Config{DataDir: b.TempDir(), URL: "http://127.0.0.1", Now: c.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	h, _ := json.Marshal(tree(c.Now(), health.Node{Name: "Camera", Status: health.Failed, Detail: "not found"}))
	tx, _ := srv.db.Begin()
	for i := range 10000 {
		seen := c.Now()
		if i%10 == 0 {
			seen = seen.Add(-time.Hour)
		}
		if _, err := tx.Exec(`INSERT INTO rooms (id, name, location, time_zone, device_id, public_key, label, state, created, last_seen, health)
			VALUES (?, ?, '', 'UTC', ?, x'00', '', 'ready', 0, ?, ?)`, fmt.Sprintf("rm_%05d", i), fmt.Sprintf("Room %d", i), fmt.Sprintf("dev%d", i), seen.UnixMilli(), string(h)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	for range 3 { // raise time passes; every alert opens
		c.Advance(time.Minute)
		if err := srv.evaluateAlerts(); err != nil {
			b.Fatal(err)
		}
	}
	if n, _ := srv.openAlertsByKind(); n[AlertDevice] != 10000 || n[AlertOffline] != 1000 {
		b.Fatalf("open: %v", n)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := srv.evaluateAlerts(); err != nil {
			b.Fatal(err)
		}
	}
}
