package portal

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	chromium "roomkit/systemtest/browser"
)

// TestBrowserProfiles drives configuration profiles in Chromium: create
// a profile on the Profiles page, assign it to the room's group, let the
// kit reject a field through the device API, and read "rejected because
// …" with each value's source on the room page; then override a value
// on the room page and see it wait for the kit ("applying…").
func TestBrowserProfiles(t *testing.T) {
	b := chromium.New(t)
	e := newEnv(t)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	roomID, tok := e.pairKit(e.newKit(), "Boardroom 4.12")
	if code, _, body := e.admin("PUT", "/api/v1/admin/rooms/"+roomID+"/group", map[string]string{"group": "zurich"}); code != 200 {
		t.Fatalf("group: %d %s", code, body)
	}

	b.Do("sign in and open Profiles",
		chromium.SignIn(e.ts.URL+"/admin/profiles", "it@example.com", "correct4horse"),
		chromedp.WaitVisible(chromedp.CSS(`#new-profile`)))
	b.Do("fill in a profile",
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Zurich rooms"),
		chromedp.SendKeys(chromedp.CSS(`#f-language`), "de-CH"),
		chromedp.SendKeys(chromedp.CSS(`#f-volume`), "35"),
		chromedp.SetValue(chromedp.CSS(`#f-display_rotation`), "180"),
		chromedp.SendKeys(chromedp.CSS(`#f-camera_name`), "Logitech"))
	b.Screenshot("admin-profile-new.png")
	b.Do("create it",
		chromedp.Click(chromedp.CSS(`#create-profile`)),
		chromedp.WaitVisible(chromedp.CSS(`#edit-profile`)))
	if n := b.Text(".notice"); !strings.Contains(n, "The profile was created") {
		t.Errorf("notice: %q", n)
	}
	b.Do("assign it to the group",
		chromedp.Navigate(e.ts.URL+"/admin/profiles"),
		chromedp.WaitVisible(chromedp.CSS(`#group-zurich select`)),
		chromedp.SetValue(chromedp.CSS(`#group-zurich select`), "1"),
		chromedp.Click(chromedp.CSS(`#group-zurich button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if row := b.Text("#profile-1"); !strings.Contains(row, "Zurich rooms") || !strings.Contains(row, "Screen language: de-CH") ||
		!strings.Contains(row, "zurich") {
		t.Errorf("the profile's row: %q", row)
	}
	b.Screenshot("admin-profiles.png")

	// The kit gets the profile with its next heartbeat and rejects the
	// language.
	a, _ := beatConfig(t, e, tok, goodHeartbeat)
	if a.Config == nil || a.Config.Values.Language != "de-CH" {
		t.Fatalf("the kit's config: %+v", a.Config)
	}
	beatConfig(t, e, tok, withConfig(`{"revision":"`+a.Config.Revision+`","state":"rejected","rejected":[{"field":"language","reason":"this kit's screen speaks en only"}]}`))

	b.Do("open the room",
		chromedp.Navigate(e.ts.URL+"/admin/rooms/"+roomID),
		chromedp.WaitVisible(chromedp.CSS(`#configuration`)))
	if st := b.Text("#config-status"); !strings.Contains(st, "rejected because screen language: this kit's screen speaks en only") {
		t.Errorf("the kit's state: %q", st)
	}
	for sel, wants := range map[string][]string{
		"#config-language":         {"de-CH", `group profile "Zurich rooms"`},
		"#config-volume":           {"35 %", `group profile "Zurich rooms"`},
		"#config-display_rotation": {"180°"},
		"#config-camera":           {`named like "Logitech"`},
		"#config-time_zone":        {"Europe/Zurich", "override"},
	} {
		got := b.Text(sel)
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q: %q", sel, w, got)
			}
		}
	}
	b.Screenshot("admin-room-config-rejected.png")

	b.Do("override the volume on the room page",
		chromedp.Click(chromedp.CSS(`#configuration summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#config-form #f-volume`)),
		chromedp.SendKeys(chromedp.CSS(`#config-form #f-volume`), "60"),
		chromedp.Click(chromedp.CSS(`#save-config`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if got := b.Text("#config-volume"); !strings.Contains(got, "60 %") || !strings.Contains(got, "override") {
		t.Errorf("the volume after the override: %q", got)
	}
	if st := b.Text("#config-status"); !strings.Contains(st, "applying…") {
		t.Errorf("the kit's state after the change: %q", st)
	}
	a, _ = beatConfig(t, e, tok, goodHeartbeat)
	if a.Config == nil || *a.Config.Values.Volume != 60 {
		t.Errorf("the kit's config after the override: %+v", a.Config)
	}
	b.Screenshot("admin-room-config-applying.png")
	entries, _ := e.srv.auditLog(3)
	if len(entries) == 0 || entries[0].Action != "set overrides" || entries[0].Actor != "it@example.com" {
		t.Errorf("audit: %+v", entries)
	}
}
