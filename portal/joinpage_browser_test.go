package portal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"roomkit/appliance/meeting/meetingtest"
	chromium "roomkit/systemtest/browser"
)

// joinPageAssets is where scripts/setup-npm.sh puts livekit-client's
// browser build, relative to this package.
const joinPageAssets = "joinpage/build"

// TestBrowserJoinPage joins a meeting from the join page in Chromium with
// a synthetic camera and microphone, against a real LiveKit server: the
// guest's error line shows the portal's words, the guest publishes H.264
// video with simulcast, sees the room kit's tile, and a name with HTML in
// it stays text.
func TestBrowserJoinPage(t *testing.T) {
	if _, err := os.Stat(filepath.Join(joinPageAssets, liveKitClientFile)); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no livekit-client build in portal/%s (CI is set, so setup should have made it): %v", joinPageAssets, err)
		}
		t.Skipf("no livekit-client build in portal/%s: run scripts/setup-npm.sh", joinPageAssets)
	}
	lk := meetingtest.StartLiveKit(t)
	b := chromium.New(t, chromium.FakeMedia())
	e := newLiveEnv(t, LiveKit{URL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret}, joinPageAssets)
	rs := lksdk.NewRoomServiceClient(lk.URL, lk.APIKey, lk.APISecret)

	// The room starts a meeting and is in it.
	ans := e.meetNow()
	kitRoom, err := connect(ans.URL, ans.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer kitRoom.Disconnect()
	id := ans.Meeting.ID

	// Locked: the page shows the portal's refusal as it is.
	if code, body := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+id+"/lock", `{"locked":true}`); code != 200 {
		t.Fatalf("lock: %d %s", code, body)
	}
	const name = `<b>Ada</b> & <img src=x onerror="document.title='pwned'">`
	b.Do("open the join page and try the locked meeting",
		chromedp.Navigate(e.ts.URL+"/join/"+formatMeetingID(id)),
		chromedp.WaitVisible(chromedp.CSS(`#join`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), name),
		chromedp.Click(chromedp.CSS(`#join`)),
		chromedp.WaitVisible(chromedp.CSS(`#error`)))
	if got := b.Text("#error"); got != "This meeting is locked." {
		t.Fatalf("error line %q, want %q", got, "This meeting is locked.")
	}
	b.Screenshot("join-locked.png")

	if code, body := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+id+"/lock", `{"locked":false}`); code != 200 {
		t.Fatalf("unlock: %d %s", code, body)
	}
	b.Do("join",
		chromedp.Click(chromedp.CSS(`#join`)),
		chromedp.WaitVisible(chromedp.CSS(`#meeting`)),
		chromedp.WaitVisible(chromedp.CSS(`.tile video`)))

	// LiveKit sees the guest publish camera video: H.264, simulcast.
	guest := waitForTrack(t, rs, id, livekit.TrackSource_CAMERA)
	if guest.Name != name || !strings.HasPrefix(guest.Identity, "guest-") {
		t.Errorf("guest in LiveKit: %q named %q, want guest-… named %q", guest.Identity, guest.Name, name)
	}
	for _, tr := range guest.Tracks {
		if tr.Type == livekit.TrackType_VIDEO && tr.Source == livekit.TrackSource_CAMERA {
			if !strings.EqualFold(tr.MimeType, "video/h264") || !tr.Simulcast {
				t.Errorf("camera track: %s, simulcast %v; want video/H264 with simulcast", tr.MimeType, tr.Simulcast)
			}
		}
	}

	// The page shows both participants by name; the guest's name is text.
	b.Do("see the room's tile", chromedp.WaitVisible(chromedp.CSS(`.tile[data-identity="`+e.roomID+`"]`)))
	labels := chromium.Eval[[]string](b, `Array.from(document.querySelectorAll('#grid .tile .name')).map(e => e.textContent)`)
	if strings.Join(labels, "|") != name+" (you)|Boardroom" {
		t.Errorf("tile names %q, want the guest's name as typed and Boardroom", labels)
	}
	if n := chromium.Eval[int](b, `document.querySelectorAll('#grid b, #grid img').length`); n != 0 {
		t.Errorf("the guest's name became %d HTML elements", n)
	}
	if title := chromium.Eval[string](b, `document.title`); title == "pwned" {
		t.Error("the guest's name ran script")
	}
	b.Screenshot("join-in-meeting.png")

	// Screen sharing: getDisplayMedia, granted by the fake media UI.
	b.Do("share the screen",
		chromedp.Click(chromedp.CSS(`#share`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("share").textContent === "Stop sharing" || !document.getElementById("error").hidden`,
			chromedp.WithPollingTimeout(30*time.Second)))
	if msg := b.Text("#error"); msg != "" {
		t.Fatalf("sharing the screen failed: %s", msg)
	}
	waitForTrack(t, rs, id, livekit.TrackSource_SCREEN_SHARE)
	b.Do("see the shared screen", chromedp.WaitVisible(chromedp.CSS(`.tile.screen video`)))
	b.Screenshot("join-sharing.png")
	b.Do("stop sharing",
		chromedp.Click(chromedp.CSS(`#share`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("share").textContent === "Share screen" && !document.querySelector(".tile.screen")`,
			chromedp.WithPollingTimeout(30*time.Second)))

	// The organiser mutes everybody: the guest's button says so.
	if code, body := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+id+"/mute", `{"all":true}`); code != 204 {
		t.Fatalf("mute all: %d %s", code, body)
	}
	b.Do("see the guest muted", chromedp.Poll[chromedp.Void](`document.getElementById("mic").textContent === "Unmute"`, chromedp.WithPollingTimeout(30*time.Second)))
	if got := b.Text("#status"); got != "The organiser muted you." {
		t.Errorf("status %q after being muted", got)
	}

	b.Do("leave",
		chromedp.Click(chromedp.CSS(`#leave`)),
		chromedp.WaitVisible(chromedp.CSS(`#join-form`)))
	if got := b.Text("#status"); got != "You left the meeting." {
		t.Errorf("status after leaving %q", got)
	}
	t.Logf("screenshots in %s", b.Artifacts)
}

// waitForTrack waits until a guest in the meeting has published a video
// track from source, and returns that guest. It polls LiveKit: publishing
// involves ICE, DTLS and the first frames, which take a moment.
func waitForTrack(t *testing.T, rs *lksdk.RoomServiceClient, room string, source livekit.TrackSource) *livekit.ParticipantInfo {
	t.Helper()
	var last []*livekit.ParticipantInfo
	for range 300 { // a hang guard of about a minute, not a performance assertion
		res, err := rs.ListParticipants(t.Context(), &livekit.ListParticipantsRequest{Room: room})
		if err != nil {
			t.Fatalf("ListParticipants: %v", err)
		}
		last = res.Participants
		for _, p := range res.Participants {
			if !strings.HasPrefix(p.Identity, "guest-") {
				continue
			}
			for _, tr := range p.Tracks {
				if tr.Type == livekit.TrackType_VIDEO && tr.Source == source {
					return p
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no guest published %v video; LiveKit has %v", source, last)
	return nil
}
