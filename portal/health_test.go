package portal

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"roomkit/health"
)

// healthBeat is goodHeartbeat carrying a health tree (raw JSON).
func healthBeat(tree string) string {
	return strings.TrimSuffix(goodHeartbeat, "}") + `,"health":` + tree + `}`
}

const cameraStalled = `{"status":"failed","checks":[` +
	`{"name":"Network","status":"ok","detail":"","since":"2026-11-02T09:00:00Z","checks":[]},` +
	`{"name":"Camera","status":"failed","detail":"no frames for 12 s","since":"2026-11-02T08:59:48Z","checks":[]}]}`

// getRoom reads one room through GET /api/v1/admin/rooms/{id}.
func getRoom(t *testing.T, e *env, id string) Room {
	t.Helper()
	code, _, b := e.admin("GET", "/api/v1/admin/rooms/"+id, nil)
	if code != 200 {
		t.Fatalf("get room %s: %d %s", id, code, b)
	}
	var r Room
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestHeartbeatHealth: the portal keeps the last health a kit reported,
// serves it for one room and in the list, and a heartbeat with bad
// health is refused whole, with a 400 that says what is wrong, and
// changes nothing.
func TestHeartbeatHealth(t *testing.T) {
	e := newEnv(t)
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	if r := getRoom(t, e, roomID); r.Health != nil {
		t.Fatalf("health before any report: %+v", r.Health)
	}
	if code, b := e.heartbeat(tok, healthBeat(cameraStalled)); code != 200 {
		t.Fatalf("heartbeat with health: %d %s", code, b)
	}
	checkStalled := func(when string) {
		t.Helper()
		r := getRoom(t, e, roomID)
		if r.Health == nil || r.Health.Status != health.Failed || r.Health.Headline() != "Camera: no frames for 12 s" {
			t.Errorf("%s: health %+v", when, r.Health)
		}
	}
	checkStalled("after the report")
	seen := *getRoom(t, e, roomID).LastSeen

	deep := `{"name":"5","status":"ok","detail":"","since":"2026-11-02T09:00:00Z","checks":[]}`
	for i := 4; i > 0; i-- {
		deep = fmt.Sprintf(`{"name":"%d","status":"ok","detail":"","since":"2026-11-02T09:00:00Z","checks":[%s]}`, i, deep)
	}
	many := make([]string, health.MaxChecks+1)
	for i := range many {
		many[i] = `{"name":"x","status":"ok","detail":"","since":"2026-11-02T09:00:00Z","checks":[]}`
	}
	for _, tc := range []struct {
		name, tree, want string
	}{
		{"not an object", `"ok"`, `field "health" must be a JSON struct`},
		{"unknown status", `{"status":"fine","checks":[]}`, `health: status is "fine"`},
		{"unknown field", `{"status":"ok","checks":[],"extra":1}`, `unknown field "extra"`},
		{"status better than its checks", strings.Replace(cameraStalled, `"status":"failed"`, `"status":"ok"`, 1), `worst check is "failed"`},
		{"line break in a detail", strings.Replace(cameraStalled, "no frames for 12 s", `no frames\nfor 12 s`, 1), "checks[1].detail contains a line break"},
		{"long detail", strings.Replace(cameraStalled, "no frames for 12 s", strings.Repeat("x", health.MaxDetail+1), 1), "at most 200 fit"},
		{"too deep", `{"status":"ok","checks":[` + deep + `]}`, "nest more than 4 deep"},
		{"too many", `{"status":"ok","checks":[` + strings.Join(many, ",") + `]}`, "more than 64 checks"},
		{"bad since", strings.Replace(cameraStalled, "2026-11-02T08:59:48Z", "yesterday", 1), "Bad heartbeat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(time.Second)
			code, b := e.heartbeat(tok, healthBeat(tc.tree))
			if code != 400 || !strings.Contains(errCode(t, b), tc.want) {
				t.Errorf("got %d %s, want 400 with %q", code, b, tc.want)
			}
			checkStalled("after a refused heartbeat")
			if r := getRoom(t, e, roomID); !r.LastSeen.Equal(seen) {
				t.Errorf("a refused heartbeat moved last_seen to %v", r.LastSeen)
			}
		})
	}

	// A kit from before health reports none: the last one stays.
	if code, b := e.heartbeat(tok, goodHeartbeat); code != 200 {
		t.Fatalf("heartbeat without health: %d %s", code, b)
	}
	checkStalled("after a heartbeat without health")
	if rooms := listRoomsAPI(t, e); len(rooms) != 1 || rooms[0].Health == nil || rooms[0].Health.Status != health.Failed {
		t.Errorf("the room list lacks the health: %+v", rooms)
	}
	if code, _, b := e.admin("GET", "/api/v1/admin/rooms/rm_nonesuch", nil); code != 404 || !strings.Contains(errCode(t, b), "rm_nonesuch") {
		t.Errorf("unknown room: %d %s", code, b)
	}
}

// TestHealthSurvivesRestart: the last health is written with the
// heartbeats and read back by the next portal process.
func TestHealthSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	e := newEnvIn(t, dir, c)
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	if code, b := e.heartbeat(tok, healthBeat(cameraStalled)); code != 200 {
		t.Fatalf("heartbeat: %d %s", code, b)
	}
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := newEnvIn(t, dir, c)
	e2.token = e.token
	if r := getRoom(t, e2, roomID); r.Health == nil || r.Health.Headline() != "Camera: no frames for 12 s" {
		t.Errorf("health after restart: %+v", r.Health)
	}
}

// TestRoomsPageHealth: the admin center's room list shows the status and
// the sentence of the worst problem.
func TestRoomsPageHealth(t *testing.T) {
	e := newEnv(t)
	e.srv.CreateAdmin("it@example.com", "correct4horse")
	_, tok := e.pairKit(e.newKit(), "Boardroom")
	if code, b := e.heartbeat(tok, healthBeat(cameraStalled)); code != 200 {
		t.Fatalf("heartbeat: %d %s", code, b)
	}
	b := e.browser()
	if code, _ := b.login("it@example.com", "correct4horse"); code != 200 {
		t.Fatal("login")
	}
	_, page := b.get("/admin/rooms")
	for _, want := range []string{`<th>Health</th>`, `<span class="warn">failed</span>`, "Camera: no frames for 12 s"} {
		if !strings.Contains(page, want) {
			t.Errorf("the rooms page lacks %q", want)
		}
	}
}

// FuzzHealthHeartbeat: whatever a heartbeat's health holds (the fuzzed
// input is the "health" value, so the fuzzer spends its time there), the
// portal either refuses it with a message or keeps a tree that validates
// and survives the trip through its database column unchanged.
func FuzzHealthHeartbeat(f *testing.F) {
	f.Add(cameraStalled)
	f.Add(`{"status":"ok","checks":[]}`)
	f.Add(`{"status":"degraded","checks":[{"name":"Clock","status":"degraded","detail":"12 s behind","since":"2026-11-02T09:00:00Z","checks":null}]}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, tree string) {
		hb, err := parseHeartbeat([]byte(healthBeat(tree)))
		switch {
		case err != nil && err.Error() == "":
			t.Fatal("empty error message")
		case err != nil || hb.Health == nil:
			return
		}
		if err := hb.Health.Validate(); err != nil {
			t.Fatalf("accepted a health tree that does not validate: %v", err)
		}
		col, ok := healthColumn(hb.Health).(string)
		if !ok {
			t.Fatalf("an accepted tree has no column value: %+v", hb.Health)
		}
		back := storedHealth(col)
		if back == nil || back.Status != hb.Health.Status || back.Headline() != hb.Health.Headline() {
			t.Fatalf("the stored tree reads back as %+v, want %+v", back, hb.Health)
		}
	})
}
