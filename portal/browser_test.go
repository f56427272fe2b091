package portal

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

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
