package portal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromium = "/usr/bin/chromium"

// TestBrowserPairing drives the admin center in a real headless Chromium:
// sign in, open the kit's verification URI, pair, and see the room online.
// It also proves Chromium keeps the Secure session cookie on plain-HTTP
// loopback.
func TestBrowserPairing(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no Chromium at %s (install Debian's chromium package to run this test): %v", chromium, err)
	}
	artifacts := os.Getenv("ROOMKIT_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	k := e.newKit()
	da := k.authorize()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute) // a hang guard, not a performance assertion
	defer cancel()

	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(artifacts, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			// Say what the browser shows, so a failure explains itself.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			html, _ := chromedp.Run(sctx, chromedp.OuterHTML(chromedp.CSS("main")))
			url, _ := chromedp.Run(sctx, chromedp.Location())
			t.Fatalf("%s: %v\nbrowser at %s shows:\n%s", what, err, url, html)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// The kit's QR code leads here; signing in must bring the admin back
	// with the code filled in.
	do("open the verification URI",
		chromedp.Navigate(da.VerificationURIComplete),
		chromedp.WaitVisible(chromedp.CSS(`#signin`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "it@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct4horse"))
	shot("admin-login.png")
	do("sign in",
		chromedp.Click(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`#pair`)))
	code, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#user_code`)))
	if err != nil {
		t.Fatal(err)
	}
	if code != da.UserCode {
		t.Fatalf("pair form has code %q, want %q from the verification URI", code, da.UserCode)
	}
	do("fill in the pairing form",
		chromedp.SendKeys(chromedp.CSS(`#name`), "Boardroom"),
		chromedp.SendKeys(chromedp.CSS(`#location`), "3rd floor"),
		chromedp.SetValue(chromedp.CSS(`#time_zone`), "Europe/Zurich"))
	shot("admin-pair.png")
	do("pair", chromedp.Click(chromedp.CSS(`#pair`)), chromedp.WaitVisible(chromedp.CSS(`table.rooms`)))
	notice, table := text(".notice"), text("table.rooms")
	if !strings.Contains(notice, `Paired "Boardroom"`) || !strings.Contains(table, "Boardroom") || !strings.Contains(table, "Offline") {
		t.Fatalf("after pairing: notice %q, table %q", notice, table)
	}

	// The kit collects its token and sends a heartbeat: the room comes online.
	st, m := k.poll(da.DeviceCode)
	if st != 200 {
		t.Fatalf("kit poll: %d %v", st, m)
	}
	if st, b := e.heartbeat(m["access_token"].(string), goodHeartbeat); st != 200 {
		t.Fatalf("heartbeat: %d %s", st, b)
	}
	do("reload the rooms", chromedp.Navigate(e.ts.URL+"/admin/rooms"), chromedp.WaitVisible(chromedp.CSS(`.dot.on`)))
	table = text("table.rooms")
	shot("admin-rooms-online.png")
	for _, want := range []string{"Boardroom", "3rd floor", "Online", "0.1.0", "ready", "just now"} {
		if !strings.Contains(table, want) {
			t.Errorf("rooms table lacks %q: %q", want, table)
		}
	}
	t.Logf("screenshots in %s", artifacts)
}
