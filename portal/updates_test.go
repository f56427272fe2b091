package portal

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"roomkit/ota"
	"roomkit/ota/rollout"
	"roomkit/provisioning"
)

// updateBeat is goodHeartbeat carrying an update report (raw JSON).
func updateBeat(report string) string {
	return strings.TrimSuffix(goodHeartbeat, "}") + `,"update":` + report + `}`
}

// report builds an update report's JSON.
func report(st ota.State, target, available string) string {
	b, _ := json.Marshal(ota.Report{Status: ota.Status{State: st, TargetVersion: target}, Channel: "stable", Available: available})
	return string(b)
}

// beatAnswer sends a heartbeat and returns the answer's update policy.
func beatAnswer(t *testing.T, e *env, tok, body string) *ota.Policy {
	t.Helper()
	code, b := e.heartbeat(tok, body)
	if code != 200 {
		t.Fatalf("heartbeat: %d %s", code, b)
	}
	var ans struct {
		Room   roomConfig  `json:"room"`
		Update *ota.Policy `json:"update"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Update == nil {
		t.Fatalf("the answer carries no update policy: %s", b)
	}
	return ans.Update
}

// freshToken is the kit's access token after the clock moved on.
func (k *kit) freshToken() string {
	k.e.t.Helper()
	code, m := k.refresh()
	if code != 200 {
		k.e.t.Fatalf("refresh: %d %v", code, m)
	}
	return m["access_token"].(string)
}

// kitInBucket makes a kit whose ring bucket is at least lo (so a ring of
// lo/100 % leaves it out and one of 100 % takes it in).
func (e *env) kitInBucket(lo int) (*kit, int) {
	for {
		k := e.newKit()
		b := rollout.Bucket(provisioning.DeviceID(k.key.Public().(ed25519.PublicKey)))
		if b >= lo {
			return k, b
		}
	}
}

func putPolicy(t *testing.T, e *env, scope string, body any) policyView {
	t.Helper()
	code, _, b := e.admin("PUT", "/api/v1/admin/update-policy/"+scope, body)
	if code != 200 {
		t.Fatalf("PUT policy %s: %d %s", scope, code, b)
	}
	var v policyView
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func getPolicy(t *testing.T, e *env, scope string) policyView {
	t.Helper()
	code, _, b := e.admin("GET", "/api/v1/admin/update-policy/"+scope, nil)
	if code != 200 {
		t.Fatalf("GET policy %s: %d %s", scope, code, b)
	}
	var v policyView
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func listRolloutsAPI(t *testing.T, e *env) []rolloutView {
	t.Helper()
	code, _, b := e.admin("GET", "/api/v1/admin/rollouts", nil)
	if code != 200 {
		t.Fatalf("rollouts: %d %s", code, b)
	}
	var rs []rolloutView
	if err := json.Unmarshal(b, &rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s",
		0: "0s", time.Hour + time.Second: "1h0m1s", 45 * time.Minute: "45m"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestMigration7 opens a database a portal of issue 12 left (schema 6,
// one room) and finds the room intact with the update tables beside it.
func TestMigration7(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	db := oldDatabase(t, dir, 6)
	if _, err := db.Exec(`INSERT INTO rooms (id, name, location, time_zone, device_id, public_key, label, state, version, created, health)
		VALUES ('rm_old', 'Boardroom', '3rd floor', 'Europe/Zurich', 'dev1', x'00', 'kit', 'ready', '1.4.0', 1, '')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	e := newEnvIn(t, dir, &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)})
	var version int
	e.srv.db.QueryRow("PRAGMA user_version").Scan(&version)
	if version != len(migrations) || version < 7 {
		t.Fatalf("schema version %d, want %d", version, len(migrations))
	}
	r := getRoom(t, e, "rm_old")
	if r.Name != "Boardroom" || r.Version != "1.4.0" || r.Update != nil {
		t.Errorf("room after migration: %+v", r)
	}
	var grp, otaCol string
	if err := e.srv.db.QueryRow("SELECT grp, ota FROM rooms WHERE id = 'rm_old'").Scan(&grp, &otaCol); err != nil || grp != "" || otaCol != "" {
		t.Errorf("new columns: %q %q %v", grp, otaCol, err)
	}
	for _, table := range []string{"update_policies", "rollouts", "update_requests", "update_events"} {
		var n int
		if err := e.srv.db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows, %v", table, n, err)
		}
	}
	// The defaults apply until an admin sets a policy.
	if v := getPolicy(t, e, "room:rm_old"); v.Effective.Channel != "stable" || v.Effective.Window != ota.DefaultWindow ||
		fmt.Sprint(v.Effective.Rings) != "[10 50 100]" || v.Updated != nil {
		t.Errorf("default policy: %+v", v)
	}
}

// TestHeartbeatUpdateValidation: a bad update report costs the heartbeat
// a 400 with ota.Report.Validate's sentence and changes nothing.
func TestHeartbeatUpdateValidation(t *testing.T) {
	e := newEnv(t)
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	for _, tc := range []struct {
		name, report, errHas string
	}{
		{"unknown state", `{"state":"exploded","target_version":"","error":""}`, `update.state "exploded" is not one of idle, checking`},
		{"long version", `{"state":"idle","target_version":"` + strings.Repeat("1", 65) + `","error":""}`, "update.target_version is longer than 64 bytes"},
		{"two-line error", `{"state":"failed","target_version":"1.5.0","error":"a\nb"}`, "update.error must be one line"},
		{"progress", `{"state":"downloading","target_version":"1.5.0","error":"","progress":1.5}`, "update.progress 1.5 is not between 0 and 1"},
		{"bad outcome", `{"state":"idle","target_version":"","error":"","last":{"version":"1.4.0","outcome":"idle","at":"2026-11-02T01:00:00Z"}}`, "update.last.outcome"},
		{"bidi in detail", `{"state":"idle","target_version":"","error":"","detail":"a\u202eb"}`, "update.detail"},
		{"unknown field", `{"state":"idle","target_version":"","error":"","eta":3}`, `unknown field "eta"`},
		{"wrong type", `{"state":"idle","target_version":1,"error":""}`, `"update.target_version" must be a JSON string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.heartbeat(tok, updateBeat(tc.report))
			if code != 400 || !strings.Contains(errCode(t, b), tc.errHas) {
				t.Fatalf("%d %s, want 400 saying %q", code, b, tc.errHas)
			}
		})
	}
	if r := getRoom(t, e, roomID); r.Update != nil || r.State != "paired" {
		t.Errorf("a refused heartbeat changed the room: %+v", r)
	}
	var n int
	e.srv.db.QueryRow("SELECT COUNT(*) FROM update_events").Scan(&n)
	if n != 0 {
		t.Errorf("%d update events from refused heartbeats", n)
	}
}

// TestUpdateAnswerAndRings: every answer carries the room's policy; a
// version reported available starts a rollout at its first ring, which
// leaves this room out until the soak time passed (fake clock).
func TestUpdateAnswerAndRings(t *testing.T) {
	e := newEnv(t)
	k, bucket := e.kitInBucket(100)
	roomID, tok := e.pairKit(k, "Boardroom")
	// The first ring stops just short of this kit's bucket.
	first := bucket / 100
	putPolicy(t, e, "fleet", map[string]any{"rings": []int{first, 100}, "soak": "1h"})

	// A kit that has not reported yet (an older kit, or its first beat).
	p := beatAnswer(t, e, tok, goodHeartbeat)
	want := ota.Policy{Channel: "stable", Window: ota.DefaultWindow, TimeZone: "Europe/Zurich"}
	if *p != want {
		t.Fatalf("answer %+v, want %+v", *p, want)
	}
	if r := getRoom(t, e, roomID); r.Update != nil {
		t.Errorf("update before any report: %+v", r.Update)
	}

	// The kit reports 1.5.0 available: the rollout starts, ring 0.
	p = beatAnswer(t, e, tok, updateBeat(report(ota.Idle, "", "1.5.0")))
	if p.Allowed != "" {
		t.Errorf("allowed %q in ring 0 (%d %%) with bucket %d", p.Allowed, first, bucket)
	}
	rs := listRolloutsAPI(t, e)
	if len(rs) != 1 || rs[0].Channel != "stable" || rs[0].Version != "1.5.0" || rs[0].Ring != 0 || rs[0].Percent != first {
		t.Fatalf("rollouts: %+v", rs)
	}
	e.clock.Advance(59 * time.Minute)
	tok = k.freshToken()
	if p = beatAnswer(t, e, tok, updateBeat(report(ota.Idle, "", "1.5.0"))); p.Allowed != "" {
		t.Errorf("allowed %q before the soak time passed", p.Allowed)
	}
	e.clock.Advance(time.Minute)
	tok = k.freshToken()
	if p = beatAnswer(t, e, tok, updateBeat(report(ota.Idle, "", "1.5.0"))); p.Allowed != "1.5.0" {
		t.Errorf("allowed %q after the soak time, want 1.5.0", p.Allowed)
	}
	if rs := listRolloutsAPI(t, e); rs[0].Ring != 1 || rs[0].Percent != 100 {
		t.Errorf("rollout after soak: %+v", rs[0])
	}

	// A newer version starts in ring 0 again: the room keeps the older.
	e.clock.Advance(time.Minute)
	if p = beatAnswer(t, e, tok, updateBeat(report(ota.Idle, "", "1.6.0"))); p.Allowed != "1.5.0" {
		t.Errorf("allowed %q while 1.6.0 is in ring 0", p.Allowed)
	}
	// The room's own policy wins over the fleet's: all rings at once.
	putPolicy(t, e, "room:"+roomID, map[string]any{"rings": []int{100}})
	if p = beatAnswer(t, e, tok, goodHeartbeat); p.Allowed != "1.6.0" {
		t.Errorf("allowed %q with the room's rings [100]", p.Allowed)
	}

	// The room shows the report; it is written with the heartbeats.
	r := getRoom(t, e, roomID)
	if r.Update == nil || r.Update.State != ota.Idle || r.Update.Available != "1.6.0" {
		t.Errorf("room update: %+v", r.Update)
	}
	if err := e.srv.flushLive(); err != nil {
		t.Fatal(err)
	}
	var stored string
	e.srv.db.QueryRow("SELECT ota FROM rooms WHERE id = ?", roomID).Scan(&stored)
	if !strings.Contains(stored, `"available":"1.6.0"`) {
		t.Errorf("rooms.ota %q", stored)
	}
}

// TestRolloutPausesItself: when more rooms than fail_percent roll a
// version back, its rollout pauses and says why; the rooms then get no
// allowance for it; an admin resumes it.
func TestRolloutPausesItself(t *testing.T) {
	e := newEnv(t)
	putPolicy(t, e, "fleet", map[string]any{"rings": []int{100}, "fail_percent": 40})
	var toks []string
	for i := range 3 {
		_, tok := e.pairKit(e.newKit(), fmt.Sprintf("Room %d", i))
		toks = append(toks, tok)
		if p := beatAnswer(t, e, tok, updateBeat(report(ota.Idle, "", "1.5.0"))); p.Allowed != "1.5.0" {
			t.Fatalf("room %d: allowed %q", i, p.Allowed)
		}
	}
	steps := []struct {
		kit int
		st  ota.State
	}{{0, ota.Installing}, {0, ota.Rebooting}, {0, ota.Healthy}, {1, ota.Installing}, {1, ota.RolledBack}}
	for _, s := range steps {
		beatAnswer(t, e, toks[s.kit], updateBeat(report(s.st, "1.5.0", "")))
		// The same state again is no new event.
		beatAnswer(t, e, toks[s.kit], updateBeat(report(s.st, "1.5.0", "")))
	}
	var events int
	e.srv.db.QueryRow("SELECT COUNT(*) FROM update_events").Scan(&events)
	if events != 3+len(steps) {
		t.Errorf("%d update events, want %d (state changes only)", events, 3+len(steps))
	}
	rs := listRolloutsAPI(t, e)
	if len(rs) != 1 || !rs[0].Paused || rs[0].Attempted != 2 || rs[0].Failed != 1 ||
		rs[0].Reason != "paused by itself: 1 of 2 rooms rolled back 1.5.0 (threshold 40 %)" {
		t.Fatalf("rollout: %+v", rs)
	}
	p := beatAnswer(t, e, toks[2], goodHeartbeat)
	if p.Allowed != "" || !p.Paused || !strings.Contains(p.PauseReason, "rolled back 1.5.0") {
		t.Errorf("answer while paused: %+v", p)
	}
	if code, _, b := e.admin("POST", "/api/v1/admin/rollouts/stable/1.5.0/resume", nil); code != 200 {
		t.Fatalf("resume: %d %s", code, b)
	}
	if p := beatAnswer(t, e, toks[2], goodHeartbeat); p.Allowed != "1.5.0" || p.Paused {
		t.Errorf("answer after resume: %+v", p)
	}
	if code, _, b := e.admin("POST", "/api/v1/admin/rollouts/stable/1.5.0/pause", nil); code != 200 || !strings.Contains(string(b), `"paused":true`) {
		t.Errorf("pause: %d %s", code, b)
	}
	if code, _, _ := e.admin("POST", "/api/v1/admin/rollouts/stable/9.9.9/pause", nil); code != 404 {
		t.Errorf("pause unknown: %d", code)
	}
	if !auditHas(t, e, "rollout paused") || !auditHas(t, e, "resume rollout") {
		t.Error("the pauses are not audited")
	}
}

func auditHas(t *testing.T, e *env, action string) bool {
	t.Helper()
	var n int
	e.srv.db.QueryRow("SELECT COUNT(*) FROM audit WHERE action = ?", action).Scan(&n)
	return n > 0
}

// TestUpdateNow: the request is answered 202 with its ID, reaches the
// kit in install_now until the kit's report names it, and is audited.
func TestUpdateNow(t *testing.T) {
	e := newEnv(t)
	k := e.newKit()
	roomID, tok := e.pairKit(k, "Boardroom")
	if code, _, b := e.admin("POST", "/api/v1/admin/rooms/rm_nope/update", nil); code != 404 || !strings.Contains(errCode(t, b), "rm_nope") {
		t.Errorf("unknown room: %d %s", code, b)
	}
	code, _, b := e.admin("POST", "/api/v1/admin/rooms/"+roomID+"/update", nil)
	var ans struct {
		Request string `json:"request"`
	}
	if code != 202 || json.Unmarshal(b, &ans) != nil || !strings.HasPrefix(ans.Request, "r-") {
		t.Fatalf("update now: %d %s", code, b)
	}
	if !auditHas(t, e, "update now") {
		t.Error("not audited")
	}
	if p := beatAnswer(t, e, tok, updateBeat(report(ota.Idle, "", ""))); p.InstallNow != ans.Request {
		t.Errorf("install_now %q, want %q", p.InstallNow, ans.Request)
	}
	// A kit still "healthy" from its last update has not seen the new
	// request: only the kit naming it settles it.
	if p := beatAnswer(t, e, tok, updateBeat(report(ota.Healthy, "", ""))); p.InstallNow != ans.Request {
		t.Errorf("install_now %q while the kit shows its last update, want %q", p.InstallNow, ans.Request)
	}
	took := ota.Report{Status: ota.Status{State: ota.Downloading, TargetVersion: "1.5.0"}, Channel: "stable", Request: ans.Request}
	b, _ = json.Marshal(took)
	if p := beatAnswer(t, e, tok, updateBeat(string(b))); p.InstallNow != "" {
		t.Errorf("install_now %q after the kit took it", p.InstallNow)
	}
	// A request nobody acts on lapses after an hour.
	e.admin("POST", "/api/v1/admin/rooms/"+roomID+"/update", nil)
	if p := beatAnswer(t, e, tok, goodHeartbeat); p.InstallNow == "" {
		t.Error("no install_now for the second request")
	}
	e.clock.Advance(requestTTL)
	tok = k.freshToken()
	if p := beatAnswer(t, e, tok, goodHeartbeat); p.InstallNow != "" {
		t.Errorf("install_now %q an hour later", p.InstallNow)
	}
}

// TestUpdatePolicyAPI: room over group over fleet over the defaults,
// field by field; bad policies are refused with what is wrong.
func TestUpdatePolicyAPI(t *testing.T) {
	e := newEnv(t)
	roomID, tok := e.pairKit(e.newKit(), "Lab")
	if _, err := e.srv.db.Exec("UPDATE rooms SET grp = 'lab' WHERE id = ?", roomID); err != nil {
		t.Fatal(err)
	}
	putPolicy(t, e, "fleet", map[string]any{"channel": "beta", "window": ota.Window{Start: "22:00", End: "02:00"}})
	putPolicy(t, e, "group:lab", map[string]any{"rings": []int{50, 100}, "soak": "90m"})
	v := putPolicy(t, e, "room:"+roomID, map[string]any{"channel": "stable", "paused": true})
	eff := v.Effective
	if eff.Channel != "stable" || fmt.Sprint(eff.Rings) != "[50 100]" || eff.Soak != "1h30m" ||
		eff.Window != (ota.Window{Start: "22:00", End: "02:00"}) || !eff.Paused || eff.FailPercent != 10 {
		t.Errorf("room's effective policy: %+v", eff)
	}
	if v.Policy.Window != nil || v.Policy.Rings != nil || *v.Policy.Channel != "stable" {
		t.Errorf("room's own layer: %+v", v.Policy)
	}
	if p := beatAnswer(t, e, tok, goodHeartbeat); p.Channel != "stable" || !p.Paused || p.Window.Start != "22:00" {
		t.Errorf("answer: %+v", p)
	}
	if code, _, b := e.admin("DELETE", "/api/v1/admin/update-policy/room:"+roomID, nil); code != 204 {
		t.Fatalf("delete: %d %s", code, b)
	}
	if eff := getPolicy(t, e, "room:"+roomID).Effective; eff.Channel != "beta" || eff.Paused {
		t.Errorf("after deleting the room's layer: %+v", eff)
	}
	if eff := getPolicy(t, e, "group:lab").Effective; eff.Channel != "beta" || eff.Soak != "1h30m" {
		t.Errorf("group: %+v", eff)
	}
	if p := beatAnswer(t, e, tok, goodHeartbeat); p.Channel != "beta" || p.Paused {
		t.Errorf("answer after delete: %+v", p)
	}

	for _, tc := range []struct {
		name, scope string
		body        any
		code        int
		errHas      string
	}{
		{"bad scope", "planet", map[string]any{}, 400, "not a policy scope"},
		{"unknown room", "room:rm_nope", map[string]any{}, 404, "rm_nope"},
		{"empty group", "group:", map[string]any{}, 400, "group"},
		{"bad channel", "fleet", map[string]any{"channel": "Beta!"}, 400, "channel \"Beta!\""},
		{"shrinking rings", "fleet", map[string]any{"rings": []int{50, 10}}, 400, "rings must grow"},
		{"ring over 100", "fleet", map[string]any{"rings": []int{150}}, 400, "from 1 to 100"},
		{"no rings", "fleet", map[string]any{"rings": []int{}}, 400, "rings must list"},
		{"bad soak", "fleet", map[string]any{"soak": "forever"}, 400, "soak \"forever\""},
		{"bad window", "fleet", map[string]any{"window": ota.Window{Start: "25:00", End: "04:00"}}, 400, "window"},
		{"bad fail percent", "fleet", map[string]any{"fail_percent": 101}, 400, "fail_percent"},
		{"unknown field", "fleet", `{"ring":[1]}`, 400, `unknown field "ring"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, b := e.admin("PUT", "/api/v1/admin/update-policy/"+tc.scope, tc.body)
			if code != tc.code || !strings.Contains(errCode(t, b), tc.errHas) {
				t.Errorf("%d %s, want %d saying %q", code, b, tc.code, tc.errHas)
			}
		})
	}
	if eff := getPolicy(t, e, "fleet").Effective; eff.Channel != "beta" {
		t.Errorf("a refused policy changed the fleet's: %+v", eff)
	}
	if !auditHas(t, e, "update policy") || !auditHas(t, e, "delete update policy") {
		t.Error("policy changes are not audited")
	}
}

// TestUpdatesSurviveRestart: policies, rollouts and requests are read
// back by the next portal process, and a report it already stored is no
// new event.
func TestUpdatesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	e := newEnvIn(t, dir, c)
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	putPolicy(t, e, "fleet", map[string]any{"channel": "beta", "rings": []int{100}})
	beatAnswer(t, e, tok, updateBeat(`{"state":"idle","target_version":"","error":"","channel":"beta","available":"1.5.0"}`))
	_, _, b := e.admin("POST", "/api/v1/admin/rooms/"+roomID+"/update", nil)
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := newEnvIn(t, dir, c)
	e2.token = e.token
	p := beatAnswer(t, e2, tok, updateBeat(`{"state":"idle","target_version":"","error":"","channel":"beta","available":"1.5.0"}`))
	if p.Channel != "beta" || p.Allowed != "1.5.0" || p.InstallNow == "" || !strings.Contains(string(b), p.InstallNow) {
		t.Errorf("answer after restart: %+v (request %s)", p, b)
	}
	var events int
	e2.srv.db.QueryRow("SELECT COUNT(*) FROM update_events").Scan(&events)
	if events != 1 {
		t.Errorf("%d events, want 1: the same report after a restart is no change", events)
	}
}

// TestUpdatesAdminCenter: the rooms list shows each kit's update state
// and an Update now button; the Updates page saves the fleet policy and
// pauses a rollout, with the session's CSRF token.
func TestUpdatesAdminCenter(t *testing.T) {
	e := newEnv(t)
	e.srv.CreateAdmin("it@example.com", "correct4horse")
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	rep := `{"state":"rolled-back","target_version":"1.5.0","error":"","channel":"stable","available":"1.5.0",` +
		`"last":{"version":"1.5.0","outcome":"rolled-back","reason":"Camera: not found","at":"2026-11-02T01:12:03Z"}}`
	beatAnswer(t, e, tok, updateBeat(rep))
	b := e.browser()
	if code, _ := b.login("it@example.com", "correct4horse"); code != 200 {
		t.Fatal("login")
	}
	_, page := b.get("/admin/rooms")
	for _, want := range []string{`<th>Update</th>`, `<span class="warn">rolled-back 1.5.0</span>`, "1.5.0 rolled back: Camera: not found",
		`action="/admin/rooms/` + roomID + `/update"`, "Update now"} {
		if !strings.Contains(page, want) {
			t.Errorf("the rooms page lacks %q", want)
		}
	}
	csrf := csrfOf(t, page)
	if code, page := b.post("/admin/rooms/"+roomID+"/update", url.Values{"csrf": {csrf}}, e.ts.URL); code != 200 || !strings.Contains(page, "installs the newest release") {
		t.Errorf("update now: %d", code)
	}
	if code, _ := b.post("/admin/rooms/"+roomID+"/update", url.Values{"csrf": {"forged"}}, e.ts.URL); code != 403 {
		t.Errorf("update now without the CSRF token: %d", code)
	}

	_, page = b.get("/admin/updates")
	// The rollback in the report paused the rollout by itself (1 of 1).
	for _, want := range []string{`id="fleet-policy"`, `value="stable"`, `value="10, 50, 100"`, `value="01:00"`, "rollout-stable-1.5.0",
		"paused by itself: 1 of 1 rooms rolled back 1.5.0 (threshold 10 %)", `action="/admin/rollouts/stable/1.5.0/resume"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the updates page lacks %q", want)
		}
	}
	form := url.Values{"csrf": {csrf}, "channel": {"beta"}, "rings": {"5, 100"}, "soak": {"2h"},
		"window_start": {"02:00"}, "window_end": {"05:00"}, "fail_percent": {"20"}}
	if code, page := b.post("/admin/updates/policy", form, e.ts.URL); code != 200 || !strings.Contains(page, "was saved") || !strings.Contains(page, `value="5, 100"`) {
		t.Errorf("save policy: %d", code)
	}
	if eff := getPolicy(t, e, "fleet").Effective; eff.Channel != "beta" || eff.Soak != "2h" || eff.FailPercent != 20 || eff.Paused {
		t.Errorf("fleet policy from the form: %+v", eff)
	}
	form.Set("rings", "50, ten")
	if code, page := b.post("/admin/updates/policy", form, e.ts.URL); code != 400 || !strings.Contains(page, "not a whole number") || !strings.Contains(page, `value="50, ten"`) {
		t.Errorf("bad rings: %d", code)
	}
	if code, page := b.post("/admin/rollouts/stable/1.5.0/resume", url.Values{"csrf": {csrf}}, e.ts.URL); code != 200 || !strings.Contains(page, "rolling out") {
		t.Errorf("resume: %d", code)
	}
	if code, page := b.post("/admin/rollouts/stable/1.5.0/pause", url.Values{"csrf": {csrf}}, e.ts.URL); code != 200 || !strings.Contains(page, "paused by it@example.com") {
		t.Errorf("pause: %d", code)
	}
}

// FuzzUpdateHeartbeat: whatever a heartbeat's "update" holds, the portal
// either refuses it with a message or keeps a report that validates and
// survives the trip through rooms.ota unchanged.
func FuzzUpdateHeartbeat(f *testing.F) {
	f.Add(report(ota.Downloading, "1.5.0", "1.5.0"))
	f.Add(`{"state":"rolled-back","target_version":"1.5.0","error":"","last":{"version":"1.5.0","outcome":"rolled-back","reason":"Camera: not found","at":"2026-11-02T01:12:03Z"}}`)
	f.Add(`{"state":"downloading","target_version":"1.5.0","error":"","progress":0.42,"detail":"x"}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, rep string) {
		hb, err := parseHeartbeat([]byte(updateBeat(rep)))
		switch {
		case err != nil && err.Error() == "":
			t.Fatal("empty error message")
		case err != nil || hb.Update == nil:
			return
		}
		if err := hb.Update.Validate(); err != nil {
			t.Fatalf("accepted a report that does not validate: %v", err)
		}
		col, ok := otaColumn(hb.Update).(string)
		if !ok {
			t.Fatalf("an accepted report has no column value: %+v", hb.Update)
		}
		back := storedReport(col)
		if back == nil || keyOf(back) != keyOf(hb.Update) || back.Available != hb.Update.Available || back.Detail != hb.Update.Detail {
			t.Fatalf("the stored report reads back as %+v, want %+v", back, hb.Update)
		}
	})
}

// TestRolloutAdvancesOnTick: rings also advance on the janitor's tick,
// while no kit sends a heartbeat, one ring per soak time.
func TestRolloutAdvancesOnTick(t *testing.T) {
	e := newEnv(t)
	_, tok := e.pairKit(e.newKit(), "Boardroom")
	putPolicy(t, e, "fleet", map[string]any{"rings": []int{1, 20, 100}, "soak": "6h"})
	beatAnswer(t, e, tok, updateBeat(report(ota.Idle, "", "1.5.0")))
	for i, want := range []int{0, 1, 2, 2} {
		if err := e.srv.advanceRollouts(); err != nil { // what the janitor runs every minute
			t.Fatal(err)
		}
		rs := listRolloutsAPI(t, e)
		if len(rs) != 1 || rs[0].Ring != want {
			t.Fatalf("after %d soak times: %+v, want ring %d", i, rs, want)
		}
		e.clock.Advance(6 * time.Hour)
	}
	var ring int
	e.srv.db.QueryRow("SELECT ring FROM rollouts").Scan(&ring)
	if ring != 2 {
		t.Errorf("stored ring %d", ring)
	}
}
