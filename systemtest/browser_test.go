package systemtest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"roomkit/appliance"
	"roomkit/systemtest/browser"
)

// TestBrowserPairsKit is the demo as an IT admin does it: the kit's screen
// (the simulator page) shows a code; the admin signs in to the admin center
// in Chromium, types that code with the room's name, and sees the room
// online while the kit's screen turns to the home screen.
func TestBrowserPairsKit(t *testing.T) {
	b := browser.New(t)
	p := startPortal(t, t.TempDir(), "127.0.0.1:0")
	if err := p.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	k := startKit(t, t.TempDir(), p.URL)
	st := k.waitState(t, 10*time.Second, appliance.Pairing, hasCode)

	// The screen is open when the page has loaded, takes the kit's frames
	// and shows one.
	screenLoaded := `(() => { const i = document.getElementById("screen"); const d = document.body.dataset;
		return document.readyState === "complete" && d.live === "1" && d.frame !== undefined && i.complete && i.naturalWidth === 1920 })()`
	b.Do("open the kit's screen", chromedp.Navigate(k.ScreenURL), chromedp.Poll[chromedp.Void](screenLoaded))
	b.Screenshot("kit-pairing.png")

	b.Do("sign in to the admin center",
		browser.SignIn(p.URL+"/admin", "it@example.com", "correct4horse"),
		chromedp.WaitVisible(chromedp.CSS(`a.button[href="/admin/pair"]`)))
	// The admin types the code as people do: lower case, no dash.
	typed := strings.ToLower(strings.ReplaceAll(st.UserCode, "-", ""))
	b.Do("enter the code",
		chromedp.Click(chromedp.CSS(`a.button[href="/admin/pair"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#lookup`)),
		chromedp.SendKeys(chromedp.CSS(`#user_code`), typed),
		chromedp.Click(chromedp.CSS(`#lookup`)),
		chromedp.WaitVisible(chromedp.CSS(`#pair`)))
	// The confirmation step shows which device waits with the code: the
	// kit's label and the address it asked from (the kit runs on loopback).
	b.Screenshot("admin-pair-confirm.png")
	if addr, label := b.Text("#device-addr"), b.Text("#device-label"); addr != "127.0.0.1" || label == "" {
		t.Errorf("the confirmation step shows device %q at %q; want the kit's label at 127.0.0.1", label, addr)
	}
	b.Do("pair the room",
		chromedp.SendKeys(chromedp.CSS(`#name`), "Boardroom"),
		chromedp.SendKeys(chromedp.CSS(`#location`), "3rd floor"),
		chromedp.Click(chromedp.CSS(`#pair`)),
		chromedp.WaitVisible(chromedp.CSS(`table.rooms`)))

	k.waitState(t, 10*time.Second, appliance.Ready, func(s appliance.Status) bool { return s.RoomName == "Boardroom" })
	b.Do("see the room online",
		chromedp.Navigate(p.URL+"/admin/rooms"),
		chromedp.WaitVisible(chromedp.CSS(`.dot.on`)))
	b.Screenshot("admin-room-online.png")
	table := b.Text("table.rooms")
	for _, want := range []string{"Boardroom", "3rd floor", "Online", testVersion} {
		if !strings.Contains(table, want) {
			t.Errorf("the rooms table lacks %q: %q", want, table)
		}
	}

	b.Do("look at the kit's screen again", chromedp.Navigate(k.ScreenURL), chromedp.Poll[chromedp.Void](screenLoaded))
	b.Screenshot("kit-home.png")
}
