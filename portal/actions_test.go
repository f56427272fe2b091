package portal

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"roomkit/portalapi"
)

// beatFields is goodHeartbeat with extra fields (raw JSON, without braces).
func beatFields(fields string) string {
	return strings.TrimSuffix(goodHeartbeat, "}") + "," + fields + "}"
}

// beatAnswer sends a heartbeat and returns the actions its answer lists.
func beatActions(t *testing.T, e *env, tok, body string) []kitAction {
	t.Helper()
	code, b := e.heartbeat(tok, body)
	if code != 200 {
		t.Fatalf("heartbeat: %d %s", code, b)
	}
	var ans struct {
		Actions *[]kitAction `json:"actions"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Actions == nil {
		t.Fatalf("heartbeat answer without \"actions\": %s", b)
	}
	return *ans.Actions
}

// roomDetailOf reads GET /api/v1/admin/rooms/{id} as the portal's type.
func roomDetailOf(t *testing.T, e *env, id string) roomDetail {
	t.Helper()
	code, _, b := e.admin("GET", "/api/v1/admin/rooms/"+id, nil)
	if code != 200 {
		t.Fatalf("get room %s: %d %s", id, code, b)
	}
	var d roomDetail
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func actionOf(t *testing.T, e *env, roomID, id string) actionView {
	t.Helper()
	for _, a := range roomDetailOf(t, e, roomID).Actions {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("room %s lists no action %s", roomID, id)
	return actionView{}
}

// request asks for an action through the admin API and returns it.
func request(t *testing.T, e *env, roomID, kind, body string) actionView {
	t.Helper()
	var b any
	if body != "" {
		b = body
	}
	code, _, out := e.admin("POST", "/api/v1/admin/rooms/"+roomID+"/"+kind, b)
	if code != 202 {
		t.Fatalf("%s: %d %s", kind, code, out)
	}
	var ans struct {
		Action actionView `json:"action"`
	}
	if err := json.Unmarshal(out, &ans); err != nil {
		t.Fatal(err)
	}
	return ans.Action
}

// TestGetRoomShape pins GET /api/v1/admin/rooms/{id}: the room with
// "health", "devices", "version", "update", and the room page's
// "uptime_seconds", "network", "meeting", "actions", "events".
func TestGetRoomShape(t *testing.T) {
	e := newEnv(t)
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	body := healthBeat(cameraStalled)
	body = strings.TrimSuffix(body, "}") + `,"latency_ms":42,"meeting":{"id":"123456789","participants":3}}`
	body = strings.Replace(body, `"state":"ready"`, `"state":"in-meeting"`, 1)
	if code, b := e.heartbeat(tok, body); code != 200 {
		t.Fatalf("heartbeat: %d %s", code, b)
	}
	code, _, b := e.admin("GET", "/api/v1/admin/rooms/"+roomID, nil)
	if code != 200 {
		t.Fatalf("get room: %d %s", code, b)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "name", "state", "online", "last_seen", "health", "devices", "version", "update",
		"uptime_seconds", "network", "meeting", "actions", "events"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("GET room lacks %q: %s", k, b)
		}
	}
	d := roomDetailOf(t, e, roomID)
	if d.Health == nil || d.Health.Headline() != "Camera: no frames for 12 s" {
		t.Errorf("health %+v", d.Health)
	}
	if len(d.Devices) != 1 || d.Devices[0].Name != "Synthetic camera" || d.Version != "0.1.0" {
		t.Errorf("devices %+v, version %q", d.Devices, d.Version)
	}
	if d.UptimeSeconds == nil || *d.UptimeSeconds != 12 {
		t.Errorf("uptime %v", d.UptimeSeconds)
	}
	if d.Network == nil || d.Network.Address != "127.0.0.1" || d.Network.LatencyMS == nil || *d.Network.LatencyMS != 42 {
		t.Errorf("network %+v", d.Network)
	}
	if d.Meeting == nil || d.Meeting.ID != "123456789" || d.Meeting.Participants != 3 {
		t.Errorf("meeting %+v", d.Meeting)
	}
	if len(d.Events) == 0 || d.Events[len(d.Events)-1].Kind != "paired" {
		t.Errorf("events %+v; want the pairing last", d.Events)
	}

	// Unknown rooms: 404 with a sentence, for every route.
	for _, rt := range []struct{ method, path string }{
		{"GET", "/api/v1/admin/rooms/rm_nope"},
		{"POST", "/api/v1/admin/rooms/rm_nope/restart"},
		{"POST", "/api/v1/admin/rooms/rm_nope/reboot"},
		{"POST", "/api/v1/admin/rooms/rm_nope/identify"},
		{"GET", "/api/v1/admin/rooms/rm_nope/logs"},
		{"POST", "/api/v1/admin/rooms/rm_nope/logs"},
	} {
		code, _, b := e.admin(rt.method, rt.path, nil)
		if code != 404 || !strings.Contains(errCode(t, b), `There is no room with the ID "rm_nope"`) {
			t.Errorf("%s %s: %d %s", rt.method, rt.path, code, b)
		}
	}
}

// TestActionLifecycle: each action is stored (pending), listed in the
// heartbeat answer (delivered), and done once a later heartbeat says so;
// a kit that refuses says why; one that never answers leaves it "not
// done after 5 minutes" and it is no longer delivered. All in the audit
// log.
func TestActionLifecycle(t *testing.T) {
	for _, tc := range []struct {
		kind, body string
		force      bool
	}{
		{"restart", "", false},
		{"restart", `{"even_during_meeting":true}`, true},
		{"reboot", "", false},
		{"identify", "", false},
	} {
		t.Run(fmt.Sprintf("%s force=%v", tc.kind, tc.force), func(t *testing.T) {
			e := newEnv(t)
			roomID, tok := e.pairKit(e.newKit(), "Boardroom")
			if acts := beatActions(t, e, tok, goodHeartbeat); len(acts) != 0 {
				t.Fatalf("actions before any request: %+v", acts)
			}
			a := request(t, e, roomID, tc.kind, tc.body)
			if a.Status != actionPending || a.Kind != tc.kind || a.EvenDuringMeeting != tc.force || a.RequestedBy != `token "tests"` {
				t.Fatalf("requested: %+v", a)
			}
			// Asking again while it waits gives the same request.
			if again := request(t, e, roomID, tc.kind, tc.body); again.ID != a.ID {
				t.Errorf("a second request %s while %s waits", again.ID, a.ID)
			}
			acts := beatActions(t, e, tok, goodHeartbeat)
			if len(acts) != 1 || acts[0].ID != a.ID || acts[0].Kind != tc.kind || acts[0].Force != tc.force {
				t.Fatalf("answer's actions %+v; want %s", acts, a.ID)
			}
			if got := actionOf(t, e, roomID, a.ID); got.Status != actionDelivered || got.DeliveredAt == nil {
				t.Errorf("after delivery: %+v", got)
			}
			// The kit says it is done: no longer delivered, shown done.
			e.clock.Advance(20 * time.Second)
			if acts := beatActions(t, e, tok, beatFields(`"actions_done":[{"id":"`+a.ID+`"}]`)); len(acts) != 0 {
				t.Errorf("actions after done: %+v", acts)
			}
			got := actionOf(t, e, roomID, a.ID)
			if got.Status != actionOK || got.DoneAt == nil || got.Words() != "done" {
				t.Errorf("after done: %+v", got)
			}
			// A kit repeating its "done" changes nothing.
			beatActions(t, e, tok, beatFields(`"actions_done":[{"id":"`+a.ID+`"}]`))
			entries, err := e.srv.auditLog(50)
			if err != nil {
				t.Fatal(err)
			}
			var requested, done int
			for _, en := range entries {
				if en.Action == tc.kind && strings.Contains(en.Detail, a.ID) && en.Actor == `token "tests"` {
					requested++
				}
				if en.Action == tc.kind+" done" && strings.Contains(en.Detail, a.ID) && en.Actor == "kit" {
					done++
				}
			}
			if requested != 1 || done != 1 {
				t.Errorf("audit: %d requests, %d done for %s; want 1 and 1: %+v", requested, done, a.ID, entries)
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		e := newEnv(t)
		roomID, tok := e.pairKit(e.newKit(), "Boardroom")
		a := request(t, e, roomID, "restart", "")
		beatActions(t, e, tok, goodHeartbeat)
		beatActions(t, e, tok, beatFields(`"actions_done":[{"id":"`+a.ID+`","error":"a meeting is running"}]`))
		got := actionOf(t, e, roomID, a.ID)
		if got.Status != actionFailed || got.Words() != "not done: a meeting is running" {
			t.Errorf("refused: %+v %q", got, got.Words())
		}
	})

	t.Run("never confirmed", func(t *testing.T) {
		e := newEnv(t)
		roomID, tok := e.pairKit(e.newKit(), "Boardroom")
		a := request(t, e, roomID, "identify", "")
		beatActions(t, e, tok, goodHeartbeat)
		e.clock.Advance(actionTTL - time.Second)
		if got := actionOf(t, e, roomID, a.ID); got.Status != actionDelivered {
			t.Errorf("just before 5 minutes: %+v", got)
		}
		e.clock.Advance(time.Second)
		got := actionOf(t, e, roomID, a.ID)
		if got.Status != actionExpired || got.Words() != "not done after 5 minutes" {
			t.Errorf("after 5 minutes: %+v %q", got, got.Words())
		}
		if acts := beatActions(t, e, tok, goodHeartbeat); len(acts) != 0 {
			t.Errorf("an expired action is still delivered: %+v", acts)
		}
		// A new request is made, not the expired one repeated.
		if b := request(t, e, roomID, "identify", ""); b.ID == a.ID || b.Status != actionPending {
			t.Errorf("request after expiry: %+v", b)
		}
	})

	t.Run("survives a restart of the portal", func(t *testing.T) {
		dir, c := t.TempDir(), &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
		e := newEnvIn(t, dir, c)
		roomID, tok := e.pairKit(e.newKit(), "Boardroom")
		a := request(t, e, roomID, "reboot", "")
		e.ts.Close()
		e.srv.Close()
		e2 := newEnvIn(t, dir, c)
		if acts := beatActions(t, e2, tok, goodHeartbeat); len(acts) != 1 || acts[0].ID != a.ID {
			t.Errorf("after a portal restart: %+v; want %s", acts, a.ID)
		}
	})
}

// TestLogs: GET …/logs asks the kit (202) until it uploads; the upload is
// the kit's "done", its lines are served (200) without secrets, and bad
// uploads are refused with a sentence.
func TestLogs(t *testing.T) {
	e := newEnv(t)
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	code, _, b := e.admin("GET", "/api/v1/admin/rooms/"+roomID+"/logs", nil)
	if code != 202 {
		t.Fatalf("logs before any upload: %d %s", code, b)
	}
	var pending struct {
		Action actionView `json:"action"`
	}
	json.Unmarshal(b, &pending)
	if code, _, b2 := e.admin("GET", "/api/v1/admin/rooms/"+roomID+"/logs", nil); code != 202 || !strings.Contains(string(b2), pending.Action.ID) {
		t.Errorf("logs asked again: %d %s; want the same request %s", code, b2, pending.Action.ID)
	}
	acts := beatActions(t, e, tok, goodHeartbeat)
	if len(acts) != 1 || acts[0].Kind != "logs" {
		t.Fatalf("answer's actions: %+v", acts)
	}
	upload := func(body string) (int, []byte) {
		t.Helper()
		code, _, b := e.do("POST", "/api/v1/device/logs", "application/json", []byte(body), map[string]string{"Authorization": "Bearer " + tok})
		return code, b
	}
	for _, tc := range []struct {
		name, body string
		code       int
		says       string
	}{
		{"unknown request", `{"action":"a-nope","lines":[]}`, 404, `There is no logs request "a-nope"`},
		{"not a logs request", `{"action":"` + request(t, e, roomID, "identify", "").ID + `","lines":[]}`, 404, "There is no logs request"},
		{"too many lines", `{"action":"` + acts[0].ID + `","lines":[` + strings.TrimSuffix(strings.Repeat(`"x",`, 501), ",") + `]}`, 400, "at most 500 lines"},
		{"not JSON", `{"action":`, 400, "Bad logs upload"},
		{"unknown field", `{"action":"x","lines":[],"secrets":1}`, 400, "Bad logs upload"},
	} {
		if code, b := upload(tc.body); code != tc.code || !strings.Contains(errCode(t, b), tc.says) {
			t.Errorf("%s: %d %s; want %d saying %q", tc.name, code, b, tc.code, tc.says)
		}
	}
	if code, b := upload(`{"action":"` + acts[0].ID + `","lines":["level=INFO msg=heartbeat","level=DEBUG msg=token access_token=s3cr3t-token","Authorization: Bearer abc.def"]}`); code != 204 {
		t.Fatalf("upload: %d %s", code, b)
	}
	code, _, b = e.admin("GET", "/api/v1/admin/rooms/"+roomID+"/logs", nil)
	if code != 200 {
		t.Fatalf("logs after the upload: %d %s", code, b)
	}
	var logs roomLogs
	json.Unmarshal(b, &logs)
	if len(logs.Lines) != 3 || logs.Lines[0] != "level=INFO msg=heartbeat" || logs.Action != acts[0].ID {
		t.Errorf("logs %+v", logs)
	}
	if strings.Contains(string(b), "s3cr3t") || strings.Contains(string(b), "abc.def") {
		t.Errorf("a secret came through: %s", b)
	}
	if a := actionOf(t, e, roomID, acts[0].ID); a.Status != actionOK {
		t.Errorf("logs request after the upload: %+v", a)
	}
	// Stale logs: a new request.
	e.clock.Advance(logsFresh)
	if code, _, b := e.admin("GET", "/api/v1/admin/rooms/"+roomID+"/logs", nil); code != 202 || strings.Contains(string(b), acts[0].ID) {
		t.Errorf("stale logs: %d %s; want a new request", code, b)
	}
}

// TestHeartbeatActionsBadInput: a heartbeat with bad remote fields is
// refused whole, saying what is wrong.
func TestHeartbeatActionsBadInput(t *testing.T) {
	e := newEnv(t)
	_, tok := e.pairKit(e.newKit(), "Boardroom")
	for _, tc := range []struct{ name, fields, says string }{
		{"empty id", `"actions_done":[{"id":""}]`, "actions_done[0].id must be 1 to 64 bytes"},
		{"long id", `"actions_done":[{"id":"` + strings.Repeat("a", 65) + `"}]`, "actions_done[0].id must be 1 to 64 bytes"},
		{"control character", `"actions_done":[{"id":"a","error":"bad\u0007"}]`, "actions_done[0].error"},
		{"too many", `"actions_done":[` + strings.TrimSuffix(strings.Repeat(`{"id":"a"},`, 33), ",") + `]`, "at most 32 actions_done"},
		{"negative latency", `"latency_ms":-1`, "latency_ms must not be negative"},
		{"negative participants", `"meeting":{"id":"123456789","participants":-2}`, "meeting.participants must not be negative"},
		{"unknown action field", `"actions_done":[{"id":"a","secret":1}]`, "unknown field"},
	} {
		code, b := e.heartbeat(tok, beatFields(tc.fields))
		if code != 400 || !strings.Contains(errCode(t, b), tc.says) {
			t.Errorf("%s: %d %s; want 400 saying %q", tc.name, code, b, tc.says)
		}
	}
}

// TestRoomEvents: a device unplugged and back, the kit offline and back,
// roomd restarted: each is an event on the room's page.
func TestRoomEvents(t *testing.T) {
	e := newEnv(t)
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	beatActions(t, e, tok, goodHeartbeat)
	e.clock.Advance(15 * time.Second)
	unplugged := strings.Replace(goodHeartbeat, `"present":true,"error":""`, `"present":false,"error":"not found"`, 1)
	unplugged = strings.Replace(unplugged, `"uptime_seconds":12`, `"uptime_seconds":27`, 1)
	beatActions(t, e, tok, unplugged)
	e.clock.Advance(10 * time.Minute)
	beatActions(t, e, tok, goodHeartbeat) // uptime 12 < 27: roomd started again
	var texts []string
	for _, ev := range roomDetailOf(t, e, roomID).Events {
		texts = append(texts, ev.Kind+": "+ev.Text)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"device: camera unplugged (Synthetic camera): not found", "offline: Back online after 10m", "restart: roomd started again",
		"device: camera back (Synthetic camera)", `paired: Paired as "Boardroom"`} {
		if !strings.Contains(all, want) {
			t.Errorf("events lack %q:\n%s", want, all)
		}
	}
}

// redactMarkSlack: redaction may lengthen a line a little (a short
// secret becomes "[redacted]").
const redactMarkSlack = "[redacted][redacted][redacted][redacted][redacted][redacted]"

// FuzzLogsUpload: whatever a kit sends as logs, what is accepted is
// within the limits and holds no bearer token.
func FuzzLogsUpload(f *testing.F) {
	f.Add([]byte(`{"action":"a-1","lines":["level=INFO msg=x","Authorization: Bearer abc"]}`))
	f.Add([]byte(`{"action":"a-1","lines":null}`))
	f.Add([]byte(`{"action":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var up logsUploadBody
		if err := decodeStrict(body, &up); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, l := range up.Lines {
			got := redactLine(l)
			if len(got) > portalapi.MaxLogLineBytes+len(redactMarkSlack) || redactLine(got) != got {
				t.Fatalf("line %q kept as %q", l, got)
			}
			if strings.Contains(got, "Bearer abc") {
				t.Fatalf("a bearer token survived: %q", got)
			}
		}
	})
}
