package portal

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"roomkit/health"
	chromium "roomkit/systemtest/browser"
)

// TestBrowserPairing drives the admin center in a real headless Chromium:
// sign in, open the kit's verification URI, pair, and see the room online.
// It also proves Chromium keeps the Secure session cookie on plain-HTTP
// loopback.
func TestBrowserPairing(t *testing.T) {
	b := chromium.New(t)
	e := newEnv(t)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	k := e.newKit()
	da := k.authorize()

	// The kit's QR code leads here; signing in must bring the admin back
	// with the code filled in.
	b.Do("open the verification URI",
		chromedp.Navigate(da.VerificationURIComplete),
		chromedp.WaitVisible(chromedp.CSS(`#signin`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "it@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct4horse"))
	b.Screenshot("admin-login.png")
	b.Do("sign in",
		chromedp.Click(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`#pair`)))
	if code := b.Value(`#user_code`); code != da.UserCode {
		t.Fatalf("pair form has code %q, want %q from the verification URI", code, da.UserCode)
	}
	// Before approving, the admin sees which device waits with the code.
	if dev := b.Text("#device"); !strings.Contains(dev, "kit-under-test") || !strings.Contains(dev, "127.0.0.1") {
		t.Errorf("the confirmation step does not show the kit's label and address: %q", dev)
	}
	b.Do("fill in the pairing form",
		chromedp.SendKeys(chromedp.CSS(`#name`), "Boardroom"),
		chromedp.SendKeys(chromedp.CSS(`#location`), "3rd floor"),
		chromedp.SetValue(chromedp.CSS(`#time_zone`), "Europe/Zurich"))
	b.Screenshot("admin-pair.png")
	b.Do("pair", chromedp.Click(chromedp.CSS(`#pair`)), chromedp.WaitVisible(chromedp.CSS(`table.rooms`)))
	notice, table := b.Text(".notice"), b.Text("table.rooms")
	if !strings.Contains(notice, `Paired "Boardroom"`) || !strings.Contains(table, "Boardroom") || !strings.Contains(table, "Offline") {
		t.Fatalf("after pairing: notice %q, table %q", notice, table)
	}

	// The kit collects its token and sends a heartbeat: the room comes online.
	st, m := k.poll(da.DeviceCode)
	if st != 200 {
		t.Fatalf("kit poll: %d %v", st, m)
	}
	if st, body := e.heartbeat(m["access_token"].(string), goodHeartbeat); st != 200 {
		t.Fatalf("heartbeat: %d %s", st, body)
	}
	b.Do("reload the rooms", chromedp.Navigate(e.ts.URL+"/admin/rooms"), chromedp.WaitVisible(chromedp.CSS(`.dot.on`)))
	table = b.Text("table.rooms")
	b.Screenshot("admin-rooms-online.png")
	for _, want := range []string{"Boardroom", "3rd floor", "Online", "0.1.0", "ready", "just now"} {
		if !strings.Contains(table, want) {
			t.Errorf("rooms table lacks %q: %q", want, table)
		}
	}
	t.Logf("screenshots in %s", b.Artifacts)
}

// TestBrowserUpdates drives the Updates page and the rooms list's update
// column in Chromium: save the fleet policy, pause a rollout, ask a room
// to update now.
func TestBrowserUpdates(t *testing.T) {
	b := chromium.New(t)
	e := newEnv(t)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	rep := `{"state":"rolled-back","target_version":"1.5.0","error":"","channel":"stable","available":"1.5.0",` +
		`"last":{"version":"1.5.0","outcome":"rolled-back","reason":"Camera: not found","at":"2026-11-02T01:12:03Z"}}`
	if st, body := e.heartbeat(tok, updateBeat(rep)); st != 200 {
		t.Fatalf("heartbeat: %d %s", st, body)
	}

	b.Do("sign in",
		chromium.SignIn(e.ts.URL+"/admin/login", "it@example.com", "correct4horse"),
		chromedp.WaitVisible(chromedp.CSS(`table.rooms`)))
	if row := b.Text("#room-" + roomID); !strings.Contains(row, "rolled-back 1.5.0") || !strings.Contains(row, "Camera: not found") {
		t.Errorf("the room's row lacks its update state: %q", row)
	}
	b.Do("update now",
		chromedp.Click(chromedp.CSS(`#room-`+roomID+` button.update-now`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if n := b.Text(".notice"); !strings.Contains(n, "installs the newest release") {
		t.Errorf("notice after update now: %q", n)
	}

	b.Do("open the Updates page",
		chromedp.Navigate(e.ts.URL+"/admin/updates"),
		chromedp.WaitVisible(chromedp.CSS(`#fleet-policy`)))
	if v := b.Value("#rings"); v != "10, 50, 100" {
		t.Errorf("rings field %q", v)
	}
	b.Screenshot("admin-updates.png")
	b.Do("save a policy",
		chromedp.SetValue(chromedp.CSS(`#rings`), "25, 100"),
		chromedp.SetValue(chromedp.CSS(`#soak`), "2h"),
		chromedp.Click(chromedp.CSS(`#save-policy`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if v := b.Value("#rings"); v != "25, 100" {
		t.Errorf("rings after saving %q", v)
	}
	if eff := getPolicy(t, e, "fleet").Effective; fmt.Sprint(eff.Rings) != "[25 100]" || eff.Soak != "2h" {
		t.Errorf("fleet policy: %+v", eff)
	}
	// The rollback the kit reported paused the rollout by itself.
	if row := b.Text(`#rollout-stable-1\.5\.0`); !strings.Contains(row, "paused by itself: 1 of 1 rooms rolled back 1.5.0") {
		t.Errorf("rollout row: %q", row)
	}
	// Each click loads a new page: wait for what only that page has.
	b.Do("resume the rollout",
		chromedp.Click(chromedp.CSS(`#rollout-stable-1\.5\.0 button`)),
		chromedp.WaitVisible(chromedp.CSS(`#rollout-stable-1\.5\.0 form[action$="/pause"] button`)))
	if row := b.Text(`#rollout-stable-1\.5\.0`); !strings.Contains(row, "rolling out") || !strings.Contains(row, "Pause") {
		t.Errorf("rollout row after resuming: %q", row)
	}
	b.Do("pause the rollout",
		chromedp.Click(chromedp.CSS(`#rollout-stable-1\.5\.0 button`)),
		chromedp.WaitVisible(chromedp.CSS(`#rollout-stable-1\.5\.0 form[action$="/resume"] button`)))
	if row := b.Text(`#rollout-stable-1\.5\.0`); !strings.Contains(row, "paused by it@example.com") || !strings.Contains(row, "Resume") {
		t.Errorf("rollout row after pausing: %q", row)
	}
	b.Screenshot("admin-updates-paused.png")
}

// TestBrowserAlerts drives the Alerts page in Chromium: add a webhook
// (the portal makes its secret), see open alerts in words with their
// count in the nav, a webhook endpoint that is down, and acknowledge one.
func TestBrowserAlerts(t *testing.T) {
	b := chromium.New(t)
	fs := newFakeSleep()
	recorded := make(chan int64, 32)
	e := newAlertEnv(t, Config{sleep: fs.sleep}, func(s *Server) { s.hooks.recorded = func(id int64) { recorded <- id } })
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	rx, got := receiver(t, func(int64) int { return http.StatusInternalServerError })

	b.Do("sign in and open Alerts",
		chromium.SignIn(e.ts.URL+"/admin/alerts", "it@example.com", "correct4horse"),
		chromedp.WaitVisible(chromedp.CSS(`#webhook-form`)))
	if s := b.Text("#no-open"); s != "Nothing is wrong." {
		t.Errorf("no alerts yet: %q", s)
	}
	b.Do("add a webhook",
		chromedp.SendKeys(chromedp.CSS(`#webhook-url`), rx.URL+"/roomkit"),
		chromedp.Click(chromedp.CSS(`#add-webhook`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-secret`)))
	secret := b.Text("#new-secret")
	if len(secret) < 32 {
		t.Fatalf("made secret %q", secret)
	}

	// Board Room goes silent; Huddle's camera is unplugged.
	e.beat(goodHeartbeat)
	k2 := e.newKit()
	_, tok2 := e.pairKit(k2, "Huddle")
	camera := beatWith(tree(e.clock.Now(), health.Node{Name: "Camera", Status: health.Failed, Detail: "/dev/video0 not found"}), "")
	for range 11 {
		e.clock.Advance(time.Minute)
		st, m := k2.refresh()
		if st != 200 {
			t.Fatalf("refresh: %d %v", st, m)
		}
		tok2 = m["access_token"].(string)
		if st, body := e.heartbeat(tok2, camera); st != 200 {
			t.Fatalf("heartbeat: %d %s", st, body)
		}
		e.eval()
	}
	// Both alerts went to the webhook, which answered 500: each waits
	// for its retry.
	verify(t, secret, time.Time{}, <-got)
	<-recorded
	<-fs.waits

	b.Do("reload", chromedp.Navigate(e.ts.URL+"/admin/alerts"), chromedp.WaitVisible(chromedp.CSS(`#open-alerts`)))
	open := b.Text("#open-alerts")
	for _, want := range []string{"Board Room: offline since 10:00 (11 min)", "Huddle: camera missing: /dev/video0 not found", "Offline", "Device missing"} {
		if !strings.Contains(open, want) {
			t.Errorf("open alerts lack %q: %q", want, open)
		}
	}
	if n := b.Text("#nav-alerts .count"); n != "2" {
		t.Errorf("nav count %q, want 2", n)
	}
	if s := b.Text("#webhooks"); !strings.Contains(s, "last delivery failed: it answered 500 Internal Server Error (attempt 1 of 8; next in 5s)") {
		t.Errorf("webhook row: %q", s)
	}
	b.Screenshot("admin-alerts.png")
	b.Do("acknowledge the first",
		chromedp.Click(chromedp.CSS(`#open-alerts button.ack`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if n := b.Text(".notice"); !strings.HasPrefix(n, "Acknowledged: ") {
		t.Errorf("notice %q", n)
	}
	if s := b.Text("#open-alerts"); !strings.Contains(s, "it@example.com") {
		t.Errorf("acknowledged alert does not say by whom: %q", s)
	}
	b.Screenshot("admin-alerts-acknowledged.png")
}

// TestBrowserFleet drives the rooms page as a fleet view in Chromium:
// the counts on top, filtering with the form (the filters land in the
// URL), the rows saying what is wrong, and the pages.
func TestBrowserFleet(t *testing.T) {
	b := chromium.New(t)
	e := newEnv(t)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	seedFleet(t, e.srv.db, now, 0, fiveRooms)
	seedFleet(t, e.srv.db, now, len(fiveRooms), generatedFleet(120))
	b.Do("sign in",
		chromium.SignIn(e.ts.URL+"/admin/login", "it@example.com", "correct4horse"),
		chromedp.WaitVisible(chromedp.CSS(`#pager`)))
	c := wantCounts(append(append([]fleetRoom{}, fiveRooms...), generatedFleet(120)...))
	if want := fmt.Sprintf("125 rooms · %d need attention · %d offline", c.Attention, c.Offline); b.Text("#counts") != want {
		t.Errorf("counts %q, want %q", b.Text("#counts"), want)
	}
	if first := b.Text("table.rooms tbody tr:first-child"); !strings.Contains(first, "Cellar") || !strings.Contains(first, "Camera: not found") {
		t.Errorf("the first row is not the failed room saying why: %q", first)
	}
	b.Screenshot("admin-fleet.png")

	b.Do("filter: failed health, offline",
		chromedp.SetValue(chromedp.CSS(`#health`), "failed"),
		chromedp.SetValue(chromedp.CSS(`#online`), "false"),
		chromedp.Click(chromedp.CSS(`#apply`)),
		chromedp.WaitVisible(chromedp.CSS(`#clear`)),
		chromium.Loaded())
	loc := chromium.Eval[string](b, "location.href")
	if !strings.Contains(loc, "health=failed") || !strings.Contains(loc, "online=false") {
		t.Errorf("the filters are not in the URL: %s", loc)
	}
	table := b.Text("table.rooms")
	for _, want := range []string{"Cellar", "Camera: not found", "Speakerphone: echo canceller off", "Offline"} {
		if !strings.Contains(table, want) {
			t.Errorf("filtered table lacks %q: %q", want, table)
		}
	}
	if strings.Contains(table, "Online") {
		t.Errorf("an online room in the offline view: %q", table)
	}
	b.Screenshot("admin-fleet-filtered.png")

	// The bookmark: the same URL opened fresh shows the same view.
	b.Do("open the bookmarked view", chromedp.Navigate(loc), chromedp.WaitVisible(chromedp.CSS(`#clear`)), chromium.Loaded())
	if b.Value("#health") != "failed" || b.Value("#online") != "false" || b.Text("table.rooms") != table {
		t.Errorf("the bookmarked view differs: health %q, online %q, table:\n%s\nwant\n%s", b.Value("#health"), b.Value("#online"), b.Text("table.rooms"), table)
	}

	b.Do("search and page",
		chromedp.Click(chromedp.CSS(`#clear`)),
		chromedp.WaitVisible(chromedp.CSS(`#pager`)),
		chromedp.SendKeys(chromedp.CSS(`#q`), "room 000"),
		chromedp.SetValue(chromedp.CSS(`#sort`), "name"),
		chromedp.Click(chromedp.CSS(`#apply`)),
		chromedp.WaitReady(chromedp.CSS(`#q[value="room 000"]`)))
	if s := b.Text("#showing"); !strings.Contains(s, "100 matching") || !strings.Contains(s, "page 1 of 2") {
		t.Errorf("search: %q", s)
	}
	b.Do("next page", chromedp.Click(chromedp.CSS(`#next`)), chromedp.WaitVisible(chromedp.CSS(`#prev`)))
	if s := b.Text("#showing"); !strings.Contains(s, "rooms 51–100 of 100") {
		t.Errorf("page 2: %q", s)
	}
	if first := b.Text("table.rooms tbody tr:first-child"); !strings.Contains(first, "Room 00050") {
		t.Errorf("page 2 starts with %q", first)
	}
	b.Do("needs attention", chromedp.Click(chromedp.CSS(`#counts a.warn`)),
		chromedp.WaitReady(chromedp.CSS(`#attention option[value="true"][selected]`)))
	if s := b.Text("#showing"); !strings.Contains(s, fmt.Sprintf("%d matching", c.Attention)) {
		t.Errorf("needs attention: %q", s)
	}
	t.Logf("screenshots in %s", b.Artifacts)
}
