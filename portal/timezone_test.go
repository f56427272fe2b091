package portal

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the same zone rules on every machine that runs the tests

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	chromium "roomkit/systemtest/browser"
)

// TestTimeZoneDST: the admin center's times across DST changes, named,
// so that the hour repeated in autumn reads twice, told apart.
func TestTimeZoneDST(t *testing.T) {
	for _, c := range []struct {
		zone string
		at   string // UTC
		want string
	}{
		{"", "2026-10-25T00:30:00Z", "2026-10-25 00:30:00 UTC"},
		{"UTC", "2026-03-29T01:00:00Z", "2026-03-29 01:00:00 UTC"},
		// Spring in Zurich: 02:00 CET does not exist, 01:59:59 CET is followed by 03:00 CEST.
		{"Europe/Zurich", "2026-03-29T00:59:59Z", "2026-03-29 01:59:59 CET"},
		{"Europe/Zurich", "2026-03-29T01:00:00Z", "2026-03-29 03:00:00 CEST"},
		// Autumn: 02:30 happens twice.
		{"Europe/Zurich", "2026-10-25T00:30:00Z", "2026-10-25 02:30:00 CEST"},
		{"Europe/Zurich", "2026-10-25T01:30:00Z", "2026-10-25 02:30:00 CET"},
		{"America/New_York", "2026-03-08T06:59:00Z", "2026-03-08 01:59:00 EST"},
		{"America/New_York", "2026-03-08T07:00:00Z", "2026-03-08 03:00:00 EDT"},
		{"America/New_York", "2026-11-01T05:30:00Z", "2026-11-01 01:30:00 EDT"},
		{"America/New_York", "2026-11-01T06:30:00Z", "2026-11-01 01:30:00 EST"},
		// The southern hemisphere changes the other way round.
		{"Australia/Sydney", "2026-04-04T15:30:00Z", "2026-04-05 02:30:00 AEDT"},
		{"Australia/Sydney", "2026-04-04T16:30:00Z", "2026-04-05 02:30:00 AEST"},
		// A zone without an abbreviation is named by its offset.
		{"Asia/Dubai", "2026-10-25T00:30:00Z", "2026-10-25 04:30:00 +04"},
	} {
		_, loc, err := checkTimeZone(c.zone)
		if err != nil {
			t.Fatalf("%q: %v", c.zone, err)
		}
		at, err := time.Parse(time.RFC3339, c.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := whenIn(loc)(at); got != c.want {
			t.Errorf("%s at %s: %q, want %q", c.zone, c.at, got, c.want)
		}
	}
}

// TestTimeZoneCheck: what an admin may type as their time zone.
func TestTimeZoneCheck(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bad      bool
	}{
		{"", "", false},
		{"   ", "", false},
		{" Europe/Zurich ", "Europe/Zurich", false},
		{"UTC", "UTC", false},
		{"Mars/Olympus_Mons", "", true},
		{"Local", "", true},
		{"../../etc/passwd", "", true},
		{"/etc/localtime", "", true},
		{"Europe/" + strings.Repeat("x", 80), "", true},
		{"europe/zurich", "", true}, // the names are case-sensitive; the suggestions show them
	} {
		got, _, err := checkTimeZone(c.in)
		switch {
		case c.bad && err == nil:
			t.Errorf("%q: accepted as %q", c.in, got)
		case c.bad && !strings.Contains(err.Error(), "is not a time zone. Use a name like Europe/Zurich"):
			t.Errorf("%q: %v", c.in, err)
		case !c.bad && (err != nil || got != c.want):
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestTimeZoneRoomPage: an admin chooses Europe/Zurich on their account
// page; the room page's events (paired and a speakerphone unplugged at
// 02:30 local time on either side of the autumn change), the audit log
// and the alerts then read in that zone, named, over real HTTP on real
// SQLite. A zone that is not one is refused in words and changes
// nothing; clearing it brings back UTC and the browser's zone.
func TestTimeZoneRoomPage(t *testing.T) {
	c := &clock{t: time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)} // 02:30 CEST
	e := startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DataDir: t.TempDir()}, nil)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	k := e.newKit()
	roomID, tok := e.pairKit(k, "Boardroom")
	devices := func(present string) string {
		return `{"state":"ready","version":"1.5.0","devices":[{"kind":"speakerphone","name":"Jabra Speak 750","present":` + present + `,"error":""}]}`
	}
	beatActions(t, e, tok, devices("true"))
	c.Advance(time.Hour)   // 02:30 CET
	code, m := k.refresh() // the access token has expired meanwhile
	if code != 200 {
		t.Fatalf("refresh: %d %v", code, m)
	}
	tok = m["access_token"].(string)
	beatActions(t, e, tok, devices("false"))
	c.Advance(11 * time.Minute)
	if err := e.srv.evaluateAlerts(); err != nil {
		t.Fatal(err)
	}

	b := e.browser()
	if code, body := b.login("it@example.com", "correct4horse"); code != 200 {
		t.Fatalf("sign in: %d %.300s", code, body)
	}
	_, room := b.get("/admin/rooms/" + roomID)
	for _, want := range []string{`<span id="tz">UTC</span>`, "localtime.js", "2026-10-25 00:30:00 UTC", "2026-10-25 01:30:00 UTC"} {
		if !strings.Contains(room, want) {
			t.Errorf("room page without a time zone lacks %q", want)
		}
	}

	_, account := b.get("/admin/account")
	csrf := csrfOf(t, account)
	setZone := func(zone string) (int, string) {
		t.Helper()
		return b.post("/admin/account/time-zone", url.Values{"csrf": {csrf}, "time_zone": {zone}}, e.ts.URL)
	}
	if code, body := setZone("Europe/Zurich"); code != 200 || !strings.Contains(body, "now in Europe/Zurich") {
		t.Fatalf("set the time zone: %d %.300s", code, body)
	}

	_, room = b.get("/admin/rooms/" + roomID)
	for _, want := range []string{
		`<span id="tz" data-zone="Europe/Zurich">Europe/Zurich</span>`,
		`>2026-10-25 02:30:00 CEST</time></td><td dir="auto">Paired as &#34;Boardroom&#34;`,
		`>2026-10-25 02:30:00 CET</time></td><td dir="auto">speakerphone unplugged (Jabra Speak 750)`,
	} {
		if !strings.Contains(room, want) {
			t.Errorf("room page in Europe/Zurich lacks %q", want)
		}
	}
	if strings.Contains(room, "localtime.js") {
		t.Error("the room page still converts its times to the browser's zone, though the admin chose one")
	}

	_, audit := b.get("/admin/audit")
	for _, want := range []string{`Times are in <span id="tz">Europe/Zurich</span>`, "2026-10-25 02:30:00 CEST", "set time zone", `aria-label="From (Europe/Zurich)"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	// The filter reads its times in the zone too: from 03:00 CET (02:00
	// UTC) leaves out the pairing at 02:30 CEST (00:30 UTC).
	_, filtered := b.get("/admin/audit?action=pair&from=2026-10-25T03:00")
	if !strings.Contains(filtered, "Nothing matches the filter") {
		t.Errorf("audit from 03:00 Zurich time still lists the pairing at 02:30 CEST")
	}
	_, filtered = b.get("/admin/audit?action=pair&from=2026-10-25T01:00")
	if !strings.Contains(filtered, "2026-10-25 02:30:00 CEST") {
		t.Errorf("audit from 01:00 Zurich time lacks the pairing at 02:30 CEST")
	}

	_, alerts := b.get("/admin/alerts")
	for _, want := range []string{`Times are in <span id="tz">Europe/Zurich</span>`, "2026-10-25 02:41:00 CET"} {
		if !strings.Contains(alerts, want) {
			t.Errorf("alerts page lacks %q", want)
		}
	}

	// Bad input: refused in words, nothing changed.
	code, body := setZone("Mars/Olympus_Mons")
	if code != 400 || !strings.Contains(body, "&#34;Mars/Olympus_Mons&#34; is not a time zone. Use a name like Europe/Zurich or UTC") ||
		!strings.Contains(body, "Your time zone was not changed.") {
		t.Errorf("a zone that is not one: %d %.400s", code, body)
	}
	if _, room = b.get("/admin/rooms/" + roomID); !strings.Contains(room, "02:30:00 CEST") {
		t.Error("a refused zone changed the admin's zone")
	}

	// Cleared: UTC on the server, the browser's zone on the room page.
	if code, body := setZone(""); code != 200 || !strings.Contains(body, "Your time zone was cleared") {
		t.Fatalf("clear the time zone: %d %.300s", code, body)
	}
	if _, room = b.get("/admin/rooms/" + roomID); !strings.Contains(room, "2026-10-25 00:30:00 UTC") || !strings.Contains(room, "localtime.js") {
		t.Error("after clearing the zone the room page is not back to UTC and the browser's zone")
	}
}

// TestTimeZoneMigration: administrators from before the setting keep
// their sessions and see UTC (and the browser's zone on the room page).
func TestTimeZoneMigration(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	db := oldDatabase(t, dir, migrationWith(t, "admins ADD COLUMN time_zone"))
	for _, q := range []string{
		"INSERT INTO admins (id, email, pw_hash, created, role) VALUES (1, 'old@example.com', 'x', 1, 'admin')",
		fmt.Sprintf("INSERT INTO sessions (hash, admin_id, csrf, expires) VALUES (x'%x', 1, 'c', 4102444800)", hashSecret("old-session")),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	e := newEnvIn(t, dir, &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)})
	code, _, body := e.do("GET", "/admin/alerts", "", nil, map[string]string{"Cookie": sessionCookie + "=old-session"})
	if code != 200 || !strings.Contains(string(body), `Times are in <span id="tz">UTC</span>`) {
		t.Errorf("old session on the alerts page: %d\n%.500s", code, body)
	}
}

// inNewYork makes the browser's time zone America/New_York, so that a
// time in the admin's chosen zone cannot have come from the browser.
func inNewYork(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
	_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
	return chromedp.Void{}, err
}

// TestBrowserTimeZone: in Chromium, an admin whose browser is in New
// York chooses Europe/Zurich on their account page; the room page then
// names Zurich and shows the pairing and the unplugged speakerphone, an
// hour apart at 02:30 either side of the autumn change, as CEST and CET.
func TestBrowserTimeZone(t *testing.T) {
	b := chromium.New(t)
	c := &clock{t: time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)}
	e := startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DataDir: t.TempDir()}, nil)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	k := e.newKit()
	roomID, tok := e.pairKit(k, "Boardroom")
	beat := func(present string) {
		t.Helper()
		beatActions(t, e, tok, `{"state":"ready","version":"1.5.0","devices":[{"kind":"speakerphone","name":"Jabra Speak 750","present":`+present+`,"error":""}]}`)
	}
	beat("true")
	c.Advance(time.Hour)
	code, m := k.refresh()
	if code != 200 {
		t.Fatalf("refresh: %d %v", code, m)
	}
	tok = m["access_token"].(string)
	beat("false")

	b.Do("sign in",
		inNewYork,
		chromium.SignIn(e.ts.URL+"/admin/login", "it@example.com", "correct4horse"),
		chromedp.WaitVisible(chromedp.CSS(`table.rooms`)))
	b.Do("choose Europe/Zurich",
		chromedp.Navigate(e.ts.URL+"/admin/account"),
		chromedp.WaitVisible(chromedp.CSS(`#time_zone`)),
		chromedp.SendKeys(chromedp.CSS(`#time_zone`), "Europe/Zurich"),
		chromedp.Click(chromedp.CSS(`#set-time-zone`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if n := b.Text(".notice"); !strings.Contains(n, "now in Europe/Zurich") {
		t.Errorf("notice: %q", n)
	}
	b.Screenshot("admin-account-time-zone.png")
	b.Do("open the room",
		chromedp.Navigate(e.ts.URL+"/admin/rooms/"+roomID),
		chromedp.WaitVisible(chromedp.CSS(`#events`)))
	if tz := b.Text("#tz"); tz != "Europe/Zurich" {
		t.Errorf("#tz: %q", tz)
	}
	events := b.Text("#events")
	for _, want := range []string{"2026-10-25 02:30:00 CEST", "2026-10-25 02:30:00 CET", "speakerphone unplugged (Jabra Speak 750)", `Paired as "Boardroom"`} {
		if !strings.Contains(events, want) {
			t.Errorf("#events lacks %q: %q", want, events)
		}
	}
	if strings.Contains(events, " EST") || strings.Contains(events, " EDT") || strings.Contains(events, "20:30") {
		t.Errorf("#events are in the browser's zone: %q", events)
	}
	b.Screenshot("admin-room-time-zone.png")
}

// TestTimeZoneConcurrentPages: pages in several zones rendered at once
// (each zone's templates are made on first use, under a lock) all come
// out in their own zone; run with -race.
func TestTimeZoneConcurrentPages(t *testing.T) {
	e := newEnv(t)
	zones := []string{"", "Europe/Zurich", "America/New_York", "Asia/Tokyo"}
	want := map[string]string{"": "UTC", "Europe/Zurich": "CET", "America/New_York": "EST", "Asia/Tokyo": "JST"}
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	errs := make(chan string, 64)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			zone := zones[i%len(zones)]
			w := httptest.NewRecorder()
			e.srv.render(w, 200, "audit", page{Title: "Audit log", Zone: zone, Audit: []auditEntry{{At: at, Actor: "it@example.com", Action: "pair"}}})
			if !strings.Contains(w.Body.String(), " "+want[zone]+"</td>") {
				errs <- fmt.Sprintf("zone %q: no time in %s", zone, want[zone])
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
