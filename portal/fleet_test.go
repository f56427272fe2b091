package portal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"roomkit/health"
	"roomkit/ota"
)

// fleetRoom is a room as the fleet tests put it straight into SQLite,
// the state its kit's last heartbeat left.
type fleetRoom struct {
	name, group, location, version string
	health                         health.Status // "": never reported
	update                         ota.State     // "": never reported
	seen                           time.Duration // how long ago; 0: never
}

// seedFleet inserts rooms in one transaction, as flushLive would have
// left them at now; first numbers the first room (IDs, keys).
func seedFleet(tb testing.TB, db *sqlDB, now time.Time, first int, rooms []fleetRoom) {
	tb.Helper()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(`INSERT INTO rooms (id, name, location, time_zone, device_id, public_key, label, state,
		version, devices, last_seen, health, ota, grp, created, health_status, update_state)
		VALUES (?, ?, ?, 'UTC', ?, ?, 'kit', ?, ?, ?, ?, ?, ?, ?, ?, coalesce(?, 'unknown'), coalesce(?, 'none'))`)
	if err != nil {
		tb.Fatal(err)
	}
	defer stmt.Close()
	devices := `[{"kind":"camera","name":"Synthetic camera","present":true,"error":""},{"kind":"speakerphone","name":"Synthetic speakerphone","present":true,"error":""}]`
	for i, r := range rooms {
		i += first
		sum := sha256.Sum256([]byte(fmt.Sprint("kit", i)))
		state, lastSeen := statePaired, int64(0)
		if r.seen > 0 {
			state, lastSeen = "ready", now.Add(-r.seen).UnixMilli()
		}
		if _, err := stmt.Exec(fmt.Sprintf("rm_%06d", i), r.name, r.location, hex.EncodeToString(sum[:16]), sum[:],
			state, r.version, devices, lastSeen, healthJSON(r.health, now), otaJSON(r.update, r.version), r.group, now.Unix(),
			healthStatusColumn(storedHealth(healthJSON(r.health, now))), updateStateColumn(storedReport(otaJSON(r.update, r.version)))); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := tx.Exec("UPDATE rooms SET attention = " + attentionSQL("health_status", "update_state")); err != nil {
		tb.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// healthJSON is a kit's tree (the shape roomd reports: network, portal,
// the four devices) with its worst check at status.
func healthJSON(st health.Status, now time.Time) string {
	if st == "" {
		return ""
	}
	since := now.Add(-10 * time.Minute)
	node := func(name string, s health.Status, detail string, kids ...health.Node) health.Node {
		return health.Node{Name: name, Status: s, Detail: detail, Since: since, Checks: append([]health.Node{}, kids...)}
	}
	camera, speaker := node("Camera", health.OK, "1920×1080 at 30 fps"), node("Speakerphone", health.OK, "Synthetic speakerphone")
	switch st {
	case health.Degraded:
		camera = node("Camera", health.Degraded, "no frames for 12 s")
	case health.Failed:
		camera = node("Camera", health.Failed, "not found")
		speaker = node("Speakerphone", health.Degraded, "echo canceller off")
	}
	rep := health.Report{Status: st, Checks: []health.Node{
		node("Network", health.OK, "eth0 192.0.2.7", node("Portal", health.OK, "last heartbeat 4 s ago")),
		camera, speaker, node("Display", health.OK, "1920×1080"), node("Touch panel", health.OK, "connected"),
		node("Disk", health.OK, "42 % used"),
	}}
	b, _ := json.Marshal(rep)
	return string(b)
}

func otaJSON(st ota.State, version string) string {
	if st == "" {
		return ""
	}
	rep := ota.Report{Status: ota.Status{State: st}, Channel: "stable", Available: "1.5.0"}
	switch st {
	case ota.Downloading:
		rep.TargetVersion, rep.Progress = "1.5.0", 0.4
	case ota.Failed:
		rep.TargetVersion, rep.Error = "1.5.0", "the download stopped: connection reset"
	case ota.RolledBack:
		rep.TargetVersion = "1.5.0"
		rep.Last = &ota.Result{Version: "1.5.0", Outcome: ota.RolledBack, Reason: "Camera: not found", At: time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)}
	}
	b, _ := json.Marshal(rep)
	return string(b)
}

// fiveRooms is the fleet the filter tests expect answers of.
var fiveRooms = []fleetRoom{
	{"Boardroom", "hq", "Floor 1", "1.5.0", health.OK, ota.Idle, 5 * time.Second},
	{"Atrium", "hq", "Floor 2", "1.4.0", health.Degraded, "", 10 * time.Second},
	{"Cellar", "lab", "Basement", "1.4.0", health.Failed, ota.Failed, 3 * time.Hour},
	{"Dock 50%", "", "floor 1", "1.5.0", "", ota.RolledBack, 0},
	{"Eagle", "branch", "Floor 1", "1.5.0", health.OK, ota.Downloading, 46 * time.Second},
}

// wantCounts counts rooms the way the fleet view's definition says,
// in Go, for the SQL to be checked against.
func wantCounts(rooms []fleetRoom) fleetCounts {
	c := fleetCounts{Rooms: len(rooms)}
	for _, r := range rooms {
		if r.health == health.Degraded || r.health == health.Failed || r.update == ota.Failed || r.update == ota.RolledBack {
			c.Attention++
		}
		if r.seen == 0 || r.seen >= onlineWindow {
			c.Offline++
		}
	}
	return c
}

func names(rooms []Room) []string {
	out := []string{}
	for _, r := range rooms {
		out = append(out, r.Name)
	}
	return out
}

func TestFleetFilters(t *testing.T) {
	e := newEnv(t)
	seedFleet(t, e.srv.db, e.clock.Now(), 0, fiveRooms)
	yes, no := true, false
	for _, tc := range []struct {
		name string
		q    fleetQuery
		want []string
	}{
		// Failed health first, then degraded or a failed update, offline
		// before online within each, then by name.
		{"all, attention first", fleetQuery{}, []string{"Cellar", "Dock 50%", "Atrium", "Eagle", "Boardroom"}},
		{"by name", fleetQuery{Sort: sortName}, []string{"Atrium", "Boardroom", "Cellar", "Dock 50%", "Eagle"}},
		{"group", fleetQuery{Group: "hq"}, []string{"Atrium", "Boardroom"}},
		{"group without rooms", fleetQuery{Group: "HQ"}, []string{}},
		{"location ignores case", fleetQuery{Location: "FLOOR 1"}, []string{"Dock 50%", "Eagle", "Boardroom"}},
		{"health ok", fleetQuery{Health: "ok"}, []string{"Eagle", "Boardroom"}},
		{"health degraded", fleetQuery{Health: "degraded"}, []string{"Atrium"}},
		{"health failed", fleetQuery{Health: "failed"}, []string{"Cellar"}},
		{"health unknown", fleetQuery{Health: "unknown"}, []string{"Dock 50%"}},
		{"version", fleetQuery{Version: "1.4.0"}, []string{"Cellar", "Atrium"}},
		{"update never reported", fleetQuery{Update: "none"}, []string{"Atrium"}},
		{"update failed", fleetQuery{Update: "failed"}, []string{"Cellar"}},
		{"update rolled back", fleetQuery{Update: "rolled-back"}, []string{"Dock 50%"}},
		{"update downloading", fleetQuery{Update: "downloading"}, []string{"Eagle"}},
		// Eagle's heartbeat is 46 s old: the 45 s window has passed.
		{"online", fleetQuery{Online: &yes}, []string{"Atrium", "Boardroom"}},
		{"offline, never seen included", fleetQuery{Online: &no}, []string{"Cellar", "Dock 50%", "Eagle"}},
		{"needs attention", fleetQuery{Attention: &yes}, []string{"Cellar", "Dock 50%", "Atrium"}},
		{"does not need attention", fleetQuery{Attention: &no}, []string{"Eagle", "Boardroom"}},
		{"search ignores case", fleetQuery{Q: "BOARD"}, []string{"Boardroom"}},
		{"search inside the name", fleetQuery{Q: "ll"}, []string{"Cellar"}},
		{"search % is literal", fleetQuery{Q: "50%"}, []string{"Dock 50%"}},
		{"search _ is literal", fleetQuery{Q: "_"}, []string{}},
		{"filters combine", fleetQuery{Health: "ok", Online: &no}, []string{"Eagle"}},
		{"filters combine to nothing", fleetQuery{Group: "lab", Health: "ok"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.q.Sort == "" {
				tc.q.Sort = sortAttention
			}
			tc.q.Page = 1
			res, err := e.srv.fleetRooms(tc.q, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(res.Rooms); !slices.Equal(got, tc.want) {
				t.Errorf("rooms %q, want %q", got, tc.want)
			}
			if res.Total != len(tc.want) || res.Pages != 1 {
				t.Errorf("total %d pages %d, want %d and 1", res.Total, res.Pages, len(tc.want))
			}
		})
	}
	c, err := e.srv.countFleet(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (fleetCounts{Rooms: 5, Attention: 3, Offline: 3}); c != want || c != wantCounts(fiveRooms) {
		t.Errorf("counts %+v, want %+v", c, want)
	}
}

func TestFleetCountsEmpty(t *testing.T) {
	e := newEnv(t)
	c, err := e.srv.countFleet(nil)
	if err != nil || c != (fleetCounts{}) {
		t.Fatalf("counts of no rooms: %+v, %v", c, err)
	}
	res, err := e.srv.fleetRooms(fleetQuery{Sort: sortAttention, Page: 1, PerPage: fleetPerPage}, nil)
	if err != nil || len(res.Rooms) != 0 || res.Total != 0 || res.Pages != 1 {
		t.Fatalf("no rooms: %+v, %v", res, err)
	}
}

func TestFleetPages(t *testing.T) {
	e := newEnv(t)
	seedFleet(t, e.srv.db, e.clock.Now(), 0, fiveRooms)
	for _, tc := range []struct {
		page, perPage int
		want          []string
		pages         int
	}{
		{1, 2, []string{"Cellar", "Dock 50%"}, 3},
		{2, 2, []string{"Atrium", "Eagle"}, 3},
		{3, 2, []string{"Boardroom"}, 3},
		{4, 2, []string{}, 3}, // after the last: empty, and says how many there are
		{1, 5, []string{"Cellar", "Dock 50%", "Atrium", "Eagle", "Boardroom"}, 1},
		{1, 1, []string{"Cellar"}, 5},
		{5, 1, []string{"Boardroom"}, 5},
		{1, 0, []string{"Cellar", "Dock 50%", "Atrium", "Eagle", "Boardroom"}, 1}, // not paged
	} {
		t.Run(fmt.Sprintf("page %d of %d", tc.page, tc.perPage), func(t *testing.T) {
			res, err := e.srv.fleetRooms(fleetQuery{Sort: sortAttention, Page: tc.page, PerPage: tc.perPage}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(res.Rooms); !slices.Equal(got, tc.want) || res.Pages != tc.pages || res.Total != 5 {
				t.Errorf("rooms %q, %d pages, total %d; want %q, %d pages, total 5", got, res.Pages, res.Total, tc.want, tc.pages)
			}
		})
	}
}

func TestParseFleetQuery(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		query string
		paged bool
		want  fleetQuery
		err   string // part of the sentence; "" for none
	}{
		{"", true, fleetQuery{Sort: sortAttention, Page: 1, PerPage: fleetPerPage}, ""},
		{"", false, fleetQuery{Sort: sortAttention, Page: 1}, ""},
		{"page=2", false, fleetQuery{Sort: sortAttention, Page: 2, PerPage: fleetPerPage}, ""},
		{"per_page=10", false, fleetQuery{Sort: sortAttention, Page: 1, PerPage: 10}, ""},
		{"per_page=500&page=1000000", true, fleetQuery{Sort: sortAttention, Page: 1000000, PerPage: 500}, ""},
		{"group=hq&location=+Floor+1+&health=failed&version=1.5.0&update=rolled-back&online=true&attention=true&q=board&sort=name", true,
			fleetQuery{Group: "hq", Location: "Floor 1", Health: "failed", Version: "1.5.0", Update: "rolled-back",
				Online: &yes, Attention: &yes, Q: "board", Sort: sortName, Page: 1, PerPage: fleetPerPage}, ""},
		{"health=", true, fleetQuery{Sort: sortAttention, Page: 1, PerPage: fleetPerPage}, ""},
		{"health=bad", true, fleetQuery{}, `The health filter "bad" is not one of ok, degraded, failed, unknown.`},
		{"health=OK", true, fleetQuery{}, `The health filter "OK" is not one of`},
		{"update=done", true, fleetQuery{}, `The update filter "done" is not one of idle, checking,`},
		{"online=yes", true, fleetQuery{}, `The online filter "yes" must be true or false.`},
		{"attention=1", true, fleetQuery{}, `The attention filter "1" must be true or false.`},
		{"sort=version", true, fleetQuery{}, `The sort order "version" is not one of attention, name.`},
		{"page=0", true, fleetQuery{}, `The page "0" is not a page number`},
		{"page=-1", true, fleetQuery{}, `The page "-1" is not a page number`},
		{"page=two", true, fleetQuery{}, `The page "two" is not a page number`},
		{"page=1000001", true, fleetQuery{}, `The page "1000001" is not a page number`},
		{"per_page=0", true, fleetQuery{}, `per_page "0" must be a number of rooms from 1 to 500.`},
		{"per_page=501", true, fleetQuery{}, `per_page "501" must be a number of rooms from 1 to 500.`},
		{"health=ok&health=failed", true, fleetQuery{}, "Give the health parameter once, not 2 times."},
		{"q=" + url.QueryEscape(strings.Repeat("x", 81)), true, fleetQuery{}, "The search text "},
		{"group=a%0Ab", true, fleetQuery{}, "The group "},
		{"version=%E2%80%AE1", true, fleetQuery{}, "The version "},
	} {
		t.Run(tc.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tc.query)
			got, err := parseFleetQuery(v, tc.paged)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("error %q", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one with %q", err, tc.err)
			case tc.err == "" && !sameFleetQuery(got, tc.want):
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if err != nil && !strings.HasSuffix(err.Error(), ".") {
				t.Errorf("%q is not a sentence", err)
			}
		})
	}
}

// TestFleetAPI checks GET /api/v1/admin/rooms's parameters, its headers
// and its errors over HTTP.
func TestFleetAPI(t *testing.T) {
	e := newEnv(t)
	seedFleet(t, e.srv.db, e.clock.Now(), 0, fiveRooms)
	base := e.srv.url + "/api/v1/admin/rooms?"
	for _, tc := range []struct {
		query string
		code  int
		want  []string // room names in order, or the error's start
		total string
		link  string
	}{
		// Without paging parameters: every room, a JSON array as before.
		{"", 200, []string{"Cellar", "Dock 50%", "Atrium", "Eagle", "Boardroom"}, "5", ""},
		{"health=ok&online=false", 200, []string{"Eagle"}, "1", ""},
		{"group=hq&sort=name", 200, []string{"Atrium", "Boardroom"}, "2", ""},
		{"q=dock+50%25", 200, []string{"Dock 50%"}, "1", ""},
		{"location=floor+1&update=rolled-back", 200, []string{"Dock 50%"}, "1", ""},
		{"version=9.9.9", 200, []string{}, "0", ""},
		{"per_page=2", 200, []string{"Cellar", "Dock 50%"}, "5",
			`<` + base + `page=1&per_page=2>; rel="first", <` + base + `page=2&per_page=2>; rel="next", <` + base + `page=3&per_page=2>; rel="last"`},
		{"per_page=2&page=2&health=ok", 200, []string{}, "2",
			`<` + base + `health=ok&page=1&per_page=2>; rel="first", <` + base + `health=ok&page=1&per_page=2>; rel="prev", <` + base + `health=ok&page=1&per_page=2>; rel="last"`},
		{"page=1", 200, []string{"Cellar", "Dock 50%", "Atrium", "Eagle", "Boardroom"}, "5",
			`<` + base + `page=1&per_page=50>; rel="first", <` + base + `page=1&per_page=50>; rel="last"`},
		{"health=broken", 400, []string{`The health filter "broken" is not one of ok, degraded, failed, unknown.`}, "", ""},
		{"page=0", 400, []string{`The page "0" is not a page number: use 1, 2, 3 and so on.`}, "", ""},
		{"per_page=1000", 400, []string{`per_page "1000" must be a number of rooms from 1 to 500.`}, "", ""},
		{"online=maybe", 400, []string{`The online filter "maybe" must be true or false.`}, "", ""},
		{"helth=ok", 400, []string{`Unknown parameter "helth": this list takes group, location, health, version, update, online, attention, q, sort, page, per_page.`}, "", ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			code, hdr, body := e.admin("GET", "/api/v1/admin/rooms?"+tc.query, nil)
			if code != tc.code {
				t.Fatalf("%d %s, want %d", code, body, tc.code)
			}
			if code != 200 {
				if got := errCode(t, body); got != tc.want[0] {
					t.Errorf("error %q, want %q", got, tc.want[0])
				}
				return
			}
			var rooms []Room
			if err := json.Unmarshal(body, &rooms); err != nil {
				t.Fatalf("not a JSON array of rooms: %s", body)
			}
			if got := names(rooms); !slices.Equal(got, tc.want) {
				t.Errorf("rooms %q, want %q", got, tc.want)
			}
			if got := hdr.Get("X-Total-Count"); got != tc.total {
				t.Errorf("X-Total-Count %q, want %q", got, tc.total)
			}
			if got := hdr.Get("Link"); got != tc.link {
				t.Errorf("Link\n%s\nwant\n%s", got, tc.link)
			}
		})
	}
	// The pinned fields stay: the rows carry health and update as before.
	_, _, body := e.admin("GET", "/api/v1/admin/rooms?health=failed", nil)
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 1 {
		t.Fatalf("rooms: %s", body)
	}
	for _, f := range []string{"id", "name", "location", "time_zone", "state", "online", "last_seen", "version", "devices", "health", "update"} {
		if _, ok := raw[0][f]; !ok {
			t.Errorf("a room lacks %q: %s", f, body)
		}
	}
}

// TestFleetSeesFreshHeartbeats pairs a kit through the protocol and
// filters for what its heartbeat said at once: the filters see
// heartbeats the once-a-second flush has not written yet.
func TestFleetSeesFreshHeartbeats(t *testing.T) {
	e := newEnv(t)
	id, tok := e.pairKit(e.newKit(), "Boardroom")
	beat := `{"state":"ready","version":"1.5.0","uptime_seconds":12,"devices":[],` +
		`"health":{"status":"degraded","checks":[{"name":"Camera","status":"degraded","detail":"no frames for 12 s","since":"2026-11-02T08:59:00Z","checks":[]}]}}`
	if st, body := e.heartbeat(tok, beat); st != 200 {
		t.Fatalf("heartbeat: %d %s", st, body)
	}
	code, _, body := e.admin("GET", "/api/v1/admin/rooms?online=true&health=degraded&version=1.5.0&attention=true", nil)
	var rooms []Room
	if code != 200 || json.Unmarshal(body, &rooms) != nil || len(rooms) != 1 || rooms[0].ID != id {
		t.Fatalf("filtered rooms after a heartbeat: %d %s", code, body)
	}
	// A heartbeat without a health tree keeps the last one, and what the
	// filters derived from it; an update report adds its state.
	if st, body := e.heartbeat(tok, updateBeat(`{"state":"failed","target_version":"1.6.0","error":"the download stopped","channel":"stable","available":"1.6.0"}`)); st != 200 {
		t.Fatalf("heartbeat: %d %s", st, body)
	}
	for _, q := range []string{"health=degraded&update=failed&attention=true", "health=degraded", "update=failed&q=board"} {
		if _, hdr, body := e.admin("GET", "/api/v1/admin/rooms?"+q, nil); hdr.Get("X-Total-Count") != "1" || !strings.Contains(string(body), id) {
			t.Errorf("?%s after an update report: %s", q, body)
		}
	}
	e.clock.Advance(onlineWindow)
	if _, _, body = e.admin("GET", "/api/v1/admin/rooms?online=false", nil); !strings.Contains(string(body), id) {
		t.Fatalf("the room is not offline %v after its heartbeat: %s", onlineWindow, body)
	}
}

// TestFleetPage checks the rooms page's counts, rows, filters in the
// URL, pages and bad filters, as HTML.
func TestFleetPage(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	seedFleet(t, e.srv.db, now, 0, fiveRooms)
	var many []fleetRoom
	for i := range 120 {
		many = append(many, fleetRoom{fmt.Sprintf("Huddle %03d", i), "annex", "Annex", "1.5.0", health.OK, ota.Idle, time.Second})
	}
	seedFleet(t, e.srv.db, now, len(fiveRooms), many)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	if code, _ := b.login("it@example.com", "correct4horse"); code != 200 {
		t.Fatalf("sign in: %d", code)
	}
	for _, tc := range []struct {
		path  string
		code  int
		has   []string
		lacks []string
	}{
		{"/admin/rooms", 200, []string{"125 rooms", "3 need attention", "3 offline", "rooms 1–50 of 125", "page 1 of 3",
			`href="/admin/rooms?page=2" id="next"`, `href="/admin/rooms?page=3" id="last"`,
			"Camera: not found", "Speakerphone: echo canceller off", "the download stopped: connection reset", "1.5.0 rolled back: Camera: not found"},
			[]string{`id="prev"`, "Huddle 050"}},
		{"/admin/rooms?page=3", 200, []string{"rooms 101–125 of 125", "Huddle 119", `href="/admin/rooms?page=2" id="prev"`}, []string{`id="next"`}},
		{"/admin/rooms?page=9", 200, []string{"rooms 101–125 of 125", "page 3 of 3"}, nil}, // after the last: the last
		{"/admin/rooms?health=failed&online=false", 200, []string{"1 matching", "Cellar", `<option value="failed" selected>Failed</option>`,
			`<option value="false" selected>Offline</option>`, `id="clear"`}, []string{"Boardroom", `id="pager"`}},
		{"/admin/rooms?group=annex&q=huddle+11&sort=name", 200, []string{"10 matching", "Huddle 110", "Huddle 119", `value="annex"`, `value="huddle 11"`}, []string{"Huddle 120"}},
		{"/admin/rooms?group=annex&per_page=20&page=2", 200, []string{"rooms 21–40 of 120", `href="/admin/rooms?group=annex&amp;page=3&amp;per_page=20" id="next"`}, nil},
		{"/admin/rooms?location=Nowhere", 200, []string{"No room matches these filters."}, []string{"<table"}},
		{"/admin/rooms?health=broken", 400, []string{`The health filter &#34;broken&#34; is not one of ok, degraded, failed, unknown.`, "125 rooms"}, []string{"<table", `http-equiv="refresh"`}},
		{"/admin/rooms?page=zero", 400, []string{`The page &#34;zero&#34; is not a page number`}, nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, body := b.get(tc.path)
			if code != tc.code {
				t.Fatalf("%d, want %d", code, tc.code)
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tc.lacks {
				if strings.Contains(body, s) {
					t.Errorf("page has %q", s)
				}
			}
			if t.Failed() {
				t.Logf("page:\n%s", body)
			}
		})
	}
}

// generatedFleet is n rooms in the mix a large fleet has: a tenth
// degraded or failed, some updates failed or rolled back, a tenth
// offline, five groups, twenty floors, three versions.
func generatedFleet(n int) []fleetRoom {
	groups := []string{"hq", "branch-a", "branch-b", "lab", ""}
	versions := []string{"1.4.0", "1.4.1", "1.5.0"}
	out := make([]fleetRoom, n)
	for i := range out {
		r := fleetRoom{name: fmt.Sprintf("Room %05d", i), group: groups[i%len(groups)],
			location: fmt.Sprintf("Floor %d", (i/7)%20), version: versions[i%len(versions)],
			health: health.OK, update: ota.Idle, seen: 5 * time.Second}
		switch {
		case i%50 == 0:
			r.health = health.Failed
		case i%20 == 1:
			r.health = health.Degraded
		case i%17 == 3:
			r.health = ""
		}
		switch {
		case i%101 == 0:
			r.update = ota.Failed
		case i%211 == 0:
			r.update = ota.RolledBack
		case i%7 == 1:
			r.update = ota.Downloading
		case i%11 == 5:
			r.update = ""
		}
		switch {
		case i%97 == 0:
			r.seen = 0
		case i%9 == 0:
			r.seen = 2 * time.Hour
		}
		out[i] = r
	}
	return out
}

// BenchmarkFleetPage measures the rooms page's server time with 10,000
// generated rooms in a real SQLite store: the whole handler (flush, the
// counts, the filter choices, the page's query, rendering the HTML) for
// the first page, a filtered page, a search and the last page, and the
// counts and the API's page alone. docs/benchmarks.md, "Fleet page".
func BenchmarkFleetPage(b *testing.B) {
	const n = 10_000
	dir := b.TempDir()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	s, err := New(Config{DataDir: dir, URL: "http://portal.test", Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	seedFleet(b, s.db, now, 0, generatedFleet(n))
	sess := &session{email: "it@example.com", csrf: "csrf"}
	page := func(b *testing.B, query string, want string) {
		r := httptest.NewRequest("GET", "/admin/rooms?"+query, nil)
		for b.Loop() {
			w := httptest.NewRecorder()
			s.serveRooms(w, r, sess)
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
				b.Fatalf("%d, lacks %q", w.Code, want)
			}
		}
	}
	b.Run("first page", func(b *testing.B) { page(b, "", "rooms 1–50 of 10000") })
	b.Run("filtered", func(b *testing.B) { page(b, "health=failed&online=true&version=1.5.0&group=hq", "matching") })
	b.Run("search", func(b *testing.B) { page(b, "q=room+0012", "10 matching") })
	b.Run("last page", func(b *testing.B) { page(b, "sort=name&page=200", "rooms 9951–10000 of 10000") })
	b.Run("counts", func(b *testing.B) {
		for b.Loop() {
			if c, err := s.countFleet(nil); err != nil || c.Rooms != n {
				b.Fatalf("%+v %v", c, err)
			}
		}
	})
	// What the rooms page read before issue 14, every room, and what the
	// API still answers without paging parameters.
	b.Run("every room", func(b *testing.B) {
		for b.Loop() {
			if rooms, err := s.listRooms(); err != nil || len(rooms) != n {
				b.Fatal(len(rooms), err)
			}
		}
	})
	b.Run("api every room", func(b *testing.B) {
		r := httptest.NewRequest("GET", "/api/v1/admin/rooms", nil)
		for b.Loop() {
			w := httptest.NewRecorder()
			s.apiListRooms(w, r, apiToken{})
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("api page", func(b *testing.B) {
		r := httptest.NewRequest("GET", "/api/v1/admin/rooms?per_page=50&health=degraded", nil)
		for b.Loop() {
			w := httptest.NewRecorder()
			s.apiListRooms(w, r, apiToken{})
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
}

// BenchmarkFlushHeartbeats measures what migration 10's columns and
// indexes add to writing heartbeats: 1,000 rooms' heartbeats, each with
// a health tree that changed its sentences but not its status, in one
// flush. Compare with the store before migration 10 (docs/benchmarks.md).
func BenchmarkFlushHeartbeats(b *testing.B) {
	const n = 1000
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	s, err := New(Config{DataDir: b.TempDir(), URL: "http://portal.test", Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	fleet := generatedFleet(n)
	seedFleet(b, s.db, now, 0, fleet)
	// A kit's tree changes its sentences with most heartbeats ("last
	// heartbeat 4 s ago"), its status seldom.
	reports := make([]*health.Report, 2)
	for i := range reports {
		var h health.Report
		if err := json.Unmarshal([]byte(healthJSON(health.OK, now)), &h); err != nil {
			b.Fatal(err)
		}
		h.Checks[0].Checks[0].Detail = fmt.Sprintf("last heartbeat %d s ago", 4+i)
		reports[i] = &h
	}
	round := 0
	for b.Loop() {
		round++
		for i := range n {
			s.live.record(fmt.Sprintf("rm_%06d", i), heartbeatStatus{state: "ready", version: "1.5.0", devices: []Device{},
				health: reports[(i+round)%2], lastSeen: now.Add(time.Duration(round) * time.Second)}, true)
		}
		if err := s.flushLive(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e3, "µs/heartbeat")
}

// TestFleetMigration checks that the fleet view's migration derives its
// columns for rooms that reported before it, as writeHeartbeats derives
// them for new reports.
func TestFleetMigration(t *testing.T) {
	sqliteOnly(t)
	db := oldDatabase(t, t.TempDir(), migrationWith(t, "ADD COLUMN health_status"))
	defer db.Close()
	db.SetMaxOpenConns(1)
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	odd := strings.Replace(healthJSON(health.Failed, now), `"status":"failed"`, `"status":"exploded"`, 1)
	cases := []struct{ health, ota string }{
		{healthJSON(health.OK, now), otaJSON(ota.Idle, "1.5.0")},
		{healthJSON(health.Degraded, now), ""},
		{healthJSON(health.Failed, now), otaJSON(ota.Failed, "1.5.0")},
		{"", otaJSON(ota.RolledBack, "1.5.0")},
		{odd, otaJSON(ota.Downloading, "1.5.0")},
		{"", ""},
	}
	for i, c := range cases {
		if _, err := db.Exec(`INSERT INTO rooms (id, name, location, time_zone, device_id, public_key, label, state, health, ota, created)
			VALUES (?, ?, '', 'UTC', ?, x'00', 'kit', 'ready', ?, ?, 0)`, fmt.Sprint("rm_", i), fmt.Sprint("Room ", i), fmt.Sprint("dev", i), c.health, c.ota); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate(db); err != nil {
		t.Fatal(err)
	}
	wantAttention := []int{0, 1, 2, 1, 2, 0}
	for i, c := range cases {
		var hs, us string
		var att int
		if err := db.QueryRow("SELECT health_status, update_state, attention FROM rooms WHERE id = ?", fmt.Sprint("rm_", i)).Scan(&hs, &us, &att); err != nil {
			t.Fatal(err)
		}
		wantHS, wantUS := healthUnknown, updateNone
		if v := healthStatusColumn(storedHealth(c.health)); v != nil {
			wantHS = v.(string)
		}
		if v := updateStateColumn(storedReport(c.ota)); v != nil {
			wantUS = v.(string)
		}
		if hs != wantHS || us != wantUS || att != wantAttention[i] {
			t.Errorf("room %d: health_status %q, update_state %q, attention %d; want %q, %q, %d", i, hs, us, att, wantHS, wantUS, wantAttention[i])
		}
	}
}

// TestFleetGeneratedCounts checks the SQL's counts and filters against
// the fleet view's definition counted in Go, over the benchmark's mix.
func TestFleetGeneratedCounts(t *testing.T) {
	e := newEnv(t)
	fleet := generatedFleet(2000)
	seedFleet(t, e.srv.db, e.clock.Now(), 0, fleet)
	c, err := e.srv.countFleet(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantCounts(fleet); c != want {
		t.Errorf("counts %+v, want %+v", c, want)
	}
	count := func(keep func(fleetRoom) bool) int {
		n := 0
		for _, r := range fleet {
			if keep(r) {
				n++
			}
		}
		return n
	}
	yes := true
	for _, tc := range []struct {
		q    fleetQuery
		want int
	}{
		{fleetQuery{Health: "degraded"}, count(func(r fleetRoom) bool { return r.health == health.Degraded })},
		{fleetQuery{Health: "unknown"}, count(func(r fleetRoom) bool { return r.health == "" })},
		{fleetQuery{Update: "none"}, count(func(r fleetRoom) bool { return r.update == "" })},
		{fleetQuery{Update: "rolled-back", Group: "hq"}, count(func(r fleetRoom) bool { return r.update == ota.RolledBack && r.group == "hq" })},
		{fleetQuery{Online: &yes, Version: "1.4.1"}, count(func(r fleetRoom) bool { return r.seen > 0 && r.seen < onlineWindow && r.version == "1.4.1" })},
		{fleetQuery{Attention: &yes, Location: "floor 3"}, count(func(r fleetRoom) bool {
			return r.location == "Floor 3" && (r.health == health.Degraded || r.health == health.Failed || r.update == ota.Failed || r.update == ota.RolledBack)
		})},
	} {
		tc.q.Sort, tc.q.Page, tc.q.PerPage = sortAttention, 1, 10
		res, err := e.srv.fleetRooms(tc.q, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != tc.want || len(res.Rooms) != min(tc.want, 10) {
			t.Errorf("%+v: %d rooms (%d on the page), want %d", tc.q, res.Total, len(res.Rooms), tc.want)
		}
	}
}

// TestFleetGroupScope checks that a group admin's fleet is their groups'
// rooms: the list, its filters, the counts and the API's total.
func TestFleetGroupScope(t *testing.T) {
	e := newEnv(t)
	seedFleet(t, e.srv.db, e.clock.Now(), 0, fiveRooms)
	tok, _, err := e.srv.CreateAPITokenWith("hq viewer", TokenOptions{Role: RoleViewer, Group: "hq"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(query string) (int, http.Header, []Room) {
		code, hdr, body := e.do("GET", "/api/v1/admin/rooms?"+query, "", nil, map[string]string{"Authorization": "Bearer " + tok})
		var rooms []Room
		if code == 200 {
			if err := json.Unmarshal(body, &rooms); err != nil {
				t.Fatalf("%s: %s", query, body)
			}
		}
		return code, hdr, rooms
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"Atrium", "Boardroom"}},
		{"group=lab", []string{}}, // another group's rooms are not there to filter
		{"health=failed", []string{}},
		{"attention=true", []string{"Atrium"}},
		{"sort=name&q=o", []string{"Boardroom"}},
	} {
		code, hdr, rooms := get(tc.query)
		if code != 200 || !slices.Equal(names(rooms), tc.want) || hdr.Get("X-Total-Count") != fmt.Sprint(len(tc.want)) {
			t.Errorf("?%s as hq's viewer: %d %q (total %s), want %q", tc.query, code, names(rooms), hdr.Get("X-Total-Count"), tc.want)
		}
	}
	c, err := e.srv.countFleet([]string{"hq"})
	if want := (fleetCounts{Rooms: 2, Attention: 1, Offline: 0}); err != nil || c != want {
		t.Errorf("hq's counts %+v %v, want %+v", c, err, want)
	}
	ch, err := e.srv.fleetChoices([]string{"hq"})
	if err != nil || !slices.Equal(ch.Groups, []string{"hq"}) || !slices.Equal(ch.Locations, []string{"Floor 1", "Floor 2"}) {
		t.Errorf("hq's suggestions %+v %v", ch, err)
	}
}
