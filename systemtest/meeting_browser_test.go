package systemtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"roomkit/appliance"
	"roomkit/appliance/meeting/meetingtest"
	"roomkit/systemtest/browser"
)

// TestBrowserGuestJoinsMeetNow is a remote colleague joining the room's
// Meet Now meeting from the join page in Chromium (synthetic camera,
// microphone and screen): the kit lists the guest and shows the guest's
// tile, the guest sees the room's video, and the guest's shared screen
// turns the kit's screen to the content layout.
func TestBrowserGuestJoinsMeetNow(t *testing.T) {
	if _, err := os.Stat(filepath.Join(joinPageAssets(), "livekit-client.umd.js")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no livekit-client build in %s (CI is set, so setup should have made it): %v", joinPageAssets(), err)
		}
		t.Skipf("no livekit-client build in %s: run scripts/setup-npm.sh", joinPageAssets())
	}
	lk := meetingtest.StartLiveKit(t)
	b := browser.New(t, browser.FakeMedia(), browser.Flag("auto-select-desktop-capture-source", "Entire screen"))
	p := startPortalWith(t, t.TempDir(), "127.0.0.1:0", liveKitConfig(lk))
	k := startKit(t, t.TempDir(), p.URL)
	pairKit(t, p, k, "Boardroom")
	ctx := context.Background()
	st, err := k.control.MeetNow(ctx)
	if err != nil {
		t.Fatalf("meet-now: %v", err)
	}
	kitIdentity := p.rooms(t)[0].ID

	b.Do("join from the join page",
		chromedp.Navigate(st.Meeting.JoinURL),
		chromedp.WaitVisible(chromedp.CSS(`#join`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Grace"),
		chromedp.Click(chromedp.CSS(`#join`)),
		chromedp.WaitVisible(chromedp.CSS(`#meeting`)))

	waitFor(t, 60*time.Second, "the kit to list Grace and show her picture", func() (bool, string) {
		st := k.status(t)
		if st.Meeting == nil {
			return false, "no meeting"
		}
		for _, tl := range st.Meeting.Tiles {
			if tl.Name == "Grace" && tl.Picture && !tl.Content {
				return true, ""
			}
		}
		return false, fmt.Sprintf("participants %v, tiles %+v", participantNames(st), st.Meeting.Tiles)
	})
	saveKitScreen(t, k, b.Artifacts, "kit-meeting-guest.png")

	// The room's video in the browser: sample it through a canvas.
	roomVideo := fmt.Sprintf(`(() => {
		const v = document.querySelector('.tile[data-identity=%q] video');
		if (!v || v.videoWidth === 0) return -1;
		const c = document.createElement('canvas');
		c.width = 64; c.height = 36;
		const g = c.getContext('2d');
		g.drawImage(v, 0, 0, 64, 36);
		const d = g.getImageData(0, 0, 64, 36).data;
		let sum = 0;
		for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i+1] + d[i+2];
		return sum / (d.length / 4) / 3;
	})()`, kitIdentity)
	var level float64
	waitFor(t, 60*time.Second, "the room's video in the browser", func() (bool, string) {
		level = browser.Eval[float64](b, roomVideo)
		return level > 30, fmt.Sprintf("mean brightness %.1f", level)
	})
	b.Screenshot("join-page-with-room.png")

	b.Do("share the screen", chromedp.Click(chromedp.CSS(`#share`)))
	waitFor(t, 60*time.Second, "the kit's content layout", func() (bool, string) {
		st := k.status(t)
		if st.State != appliance.InMeeting {
			return false, string(st.State)
		}
		return st.Meeting.Sharing == "Grace", fmt.Sprintf("sharing %q, tiles %+v; page says %q", st.Meeting.Sharing, st.Meeting.Tiles, browser.Eval[string](b, `document.getElementById('error').textContent`))
	})
	saveKitScreen(t, k, b.Artifacts, "kit-meeting-content.png")

	if st, err := k.control.Leave(ctx); err != nil || st.State != appliance.Ready {
		t.Fatalf("leave: %+v, %v", st, err)
	}
}

// saveKitScreen saves what the kit's screen shows as name in dir: a frame
// drawn after this call, so it shows the state the test just saw.
func saveKitScreen(t *testing.T, k *runningKit, dir, name string) {
	t.Helper()
	fetch := func() ([]byte, uint64) {
		resp, err := http.Get(k.ScreenURL + "frame.png")
		if err != nil {
			t.Fatalf("kit screen: %v", err)
		}
		defer resp.Body.Close()
		png, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("kit screen: %s, %v", resp.Status, err)
		}
		seq, _ := strconv.ParseUint(resp.Header.Get("X-Frame"), 10, 64)
		return png, seq
	}
	_, first := fetch()
	var png []byte
	waitFor(t, 30*time.Second, "two new frames on the kit's screen", func() (bool, string) {
		var seq uint64
		png, seq = fetch()
		return seq >= first+2, fmt.Sprintf("frame %d", seq)
	})
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
