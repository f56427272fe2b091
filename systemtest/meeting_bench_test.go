package systemtest

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"roomkit/appliance"
	"roomkit/appliance/meeting/meetingtest"
	"roomkit/systemtest/browser"
)

// BenchmarkTapToMedia measures, side by side in one run, how long the kit
// takes from a tap to its first video packet at another participant,
// and how long headless Chromium takes from opening the join page to its
// first video packet there. The participant (on the LiveKit Go SDK) waits
// in a scheduled meeting of the room, so both are measured the same way:
// the kit's tap is Start on that meeting (the same path as Meet Now but
// for the portal creating the meeting). Reported: kit-ms, chromium-ms and
// their ratio (target ≤ 0.5).
func BenchmarkTapToMedia(b *testing.B) {
	lk := meetingtest.StartLiveKit(b)
	br := browser.New(b, browser.FakeMedia())
	p := startPortalWith(b, b.TempDir(), "127.0.0.1:0", liveKitConfig(lk))
	k := startKit(b, b.TempDir(), p.URL)
	pairKit(b, p, k, "Boardroom")
	room := p.rooms(b)[0]
	var created struct{ Meeting struct{ ID string } }
	if code := p.api(b, "POST", "/api/v1/admin/rooms/"+room.ID+"/meetings", map[string]any{
		"title": "Bench", "start": time.Now().UTC().Format("2006-01-02T15:04"), "minutes": 120}, &created); code != 201 {
		b.Fatalf("schedule: HTTP %d", code)
	}
	id := created.Meeting.ID
	ctx := context.Background()

	var kitTotal, chromeTotal time.Duration
	for i := 0; i < b.N; i++ {
		watcher := func(name string) *meetingtest.Participant {
			tok := meetingtest.Token(b, lk, id, fmt.Sprintf("watcher-%s-%d", name, i), "Watcher")
			return meetingtest.Join(b, lk.URL, tok, room.ID)
		}

		w := watcher("kit")
		tap := time.Now()
		if err := k.JoinMeeting(ctx, id); err != nil {
			b.Fatal(err)
		}
		waitFor(b, 60*time.Second, "the kit's first video packet", func() (bool, string) {
			return w.Stats().VideoPackets > 0, ""
		})
		kitTotal += w.FirstVideo()[room.ID].Sub(tap)
		if err := k.Leave(); err != nil {
			b.Fatal(err)
		}
		w.Room.Disconnect()

		w = watcher("chromium")
		nav := time.Now()
		br.Do("join from the join page",
			chromedp.Navigate(p.URL+"/join/"+id),
			chromedp.WaitVisible(chromedp.CSS(`#join`)),
			chromedp.SendKeys(chromedp.CSS(`#name`), "Bench"),
			chromedp.Click(chromedp.CSS(`#join`)))
		var first time.Time
		waitFor(b, 60*time.Second, "Chromium's first video packet", func() (bool, string) {
			for who, at := range w.FirstVideo() {
				if strings.HasPrefix(who, "guest-") {
					first = at
					return true, ""
				}
			}
			return false, ""
		})
		chromeTotal += first.Sub(nav)
		br.Do("leave", chromedp.Navigate("about:blank"))
		w.Room.Disconnect()
	}
	kitMS := float64(kitTotal.Milliseconds()) / float64(b.N)
	chromeMS := float64(chromeTotal.Milliseconds()) / float64(b.N)
	b.ReportMetric(kitMS, "kit-ms")
	b.ReportMetric(chromeMS, "chromium-ms")
	b.ReportMetric(kitMS/chromeMS, "ratio")
	b.Logf("\n%-34s %10s\n%-34s %10.0f\n%-34s %10.0f\n%-34s %10.2f", "tap → first video packet (ms)", "", "kit (Start → packet)", kitMS,
		"Chromium (navigate → packet)", chromeMS, "ratio kit/Chromium", kitMS/chromeMS)
}

// BenchmarkMeetingRSS measures the memory of a kit in a meeting with six
// remote video participants (synthetic 320×240 H.264 from the LiveKit Go
// SDK, in this process too): the process's VmRSS once the kit decodes all
// six. It is an upper bound on roomd's: the publishers' encoders and
// connections are counted as well.
func BenchmarkMeetingRSS(b *testing.B) {
	lk := meetingtest.StartLiveKit(b)
	p := startPortalWith(b, b.TempDir(), "127.0.0.1:0", liveKitConfig(lk))
	k := startKit(b, b.TempDir(), p.URL)
	pairKit(b, p, k, "Boardroom")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := k.control.MeetNow(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 6 {
		code, url, token, msg := guestJoin(b, p.URL, st.Meeting.ID, fmt.Sprintf("Guest %d", i+1))
		if code != 200 {
			b.Fatalf("guest %d: %d %s", i, code, msg)
		}
		g := meetingtest.Join(b, url, token, "")
		if err := meetingtest.Publish(ctx, g.Room, 320, 240, false); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, 90*time.Second, "six tiles with pictures on the kit", func() (bool, string) {
		st := k.status(b)
		n := 0
		for _, tl := range st.Meeting.Tiles {
			if tl.Picture {
				n++
			}
		}
		return n == 6, fmt.Sprintf("%d pictures", n)
	})
	var peak int64
	for b.Loop() {
		time.Sleep(time.Second) // let decoding run; sample once a second
		runtime.GC()
		peak = max(peak, vmRSS(b))
	}
	if st := k.status(b); st.State != appliance.InMeeting {
		b.Fatalf("the kit left the meeting: %s", st.State)
	}
	b.ReportMetric(float64(peak)/(1<<20), "RSS-MB")
}

// vmRSS reads this process's resident set size in bytes.
func vmRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
