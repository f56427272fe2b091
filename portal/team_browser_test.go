package portal

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	chromium "roomkit/systemtest/browser"
)

// TestBrowserTeam drives the team page in Chromium: the owner invites a
// group admin, the invitee opens the link in their own browser and sets
// a password, signs in and sees only their group's rooms; the owner sees
// them on the team page.
func TestBrowserTeam(t *testing.T) {
	b := chromium.New(t)
	e := newEnv(t)
	if err := e.srv.CreateAdmin("owner@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	east, _ := e.pairKit(e.newKit(), "East boardroom")
	e.pairKit(e.newKit(), "West huddle")
	if code, _, body := e.admin("PUT", "/api/v1/admin/rooms/"+east+"/group", `{"group":"east"}`); code != 200 {
		t.Fatalf("group: %d %s", code, body)
	}

	b.Do("sign in as the owner",
		chromium.SignIn(e.ts.URL+"/admin/team", "owner@example.com", "correct4horse"),
		chromedp.WaitVisible(chromedp.CSS(`#invite-form`)))
	b.Do("invite a group admin",
		chromedp.SendKeys(chromedp.CSS(`#invite-email`), "ana@example.com"),
		chromedp.SetValue(chromedp.CSS(`#invite-role`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#invite-groups`), "east"),
		chromedp.Click(chromedp.CSS(`#invite`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-link`)))
	link := strings.TrimSpace(b.Text("#link"))
	if !strings.HasPrefix(link, e.ts.URL+"/admin/invite/") {
		t.Fatalf("invitation link %q", link)
	}
	if pending := b.Text("table.links"); !strings.Contains(pending, "ana@example.com") || !strings.Contains(pending, "invitation as admin of east") {
		t.Errorf("pending invitations: %q", pending)
	}
	b.Screenshot("admin-team-invite.png")

	// The invitee, in a browser of their own (no owner cookie).
	ana := chromium.New(t)
	ana.Do("open the invitation",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`#set-password`)),
		chromedp.SendKeys(chromedp.CSS(`#password`), "ana4rooms"),
		chromedp.SendKeys(chromedp.CSS(`#again`), "ana4rooms"),
		chromedp.Click(chromedp.CSS(`#set-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#done`)))
	ana.Do("sign in",
		chromium.SignIn(e.ts.URL+"/admin/login", "ana@example.com", "ana4rooms"),
		chromedp.WaitVisible(chromedp.CSS(`table.rooms`)))
	if rooms := ana.Text("table.rooms"); !strings.Contains(rooms, "East boardroom") || strings.Contains(rooms, "West huddle") {
		t.Errorf("the group admin's rooms: %q", rooms)
	}
	if nav := ana.Text("header.top"); strings.Contains(nav, "Team") || !strings.Contains(nav, "admin of east") {
		t.Errorf("the group admin's header: %q", nav)
	}

	b.Do("the owner reloads the team page",
		chromedp.Navigate(e.ts.URL+"/admin/team"),
		chromedp.WaitVisible(chromedp.CSS(`table.team`)))
	team := b.Text("table.team")
	for _, want := range []string{"ana@example.com", "owner@example.com", "east", "whole account"} {
		if !strings.Contains(team, want) {
			t.Errorf("team table lacks %q: %q", want, team)
		}
	}
	b.Screenshot("admin-team.png")
	t.Logf("screenshots in %s", b.Artifacts)
}
