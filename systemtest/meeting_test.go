package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"roomkit/appliance"
	"roomkit/appliance/meeting/meetingtest"
	"roomkit/portal"
	"roomkit/portal/sfu"
)

// The SDK logs every ICE state change at info level.
func init() { lksdk.SetLogger(protologger.GetDiscardLogger()) }

// joinPageAssets is where scripts/setup-npm.sh puts livekit-client's
// browser build.
func joinPageAssets() string { return filepath.Join("..", "portal", "joinpage", "build") }

func liveKitConfig(lk *sfu.Server) portal.LiveKit {
	return portal.LiveKit{URL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret}
}

// pairKit pairs k with the portal as a room named name, through the admin
// API, and waits for its home screen.
func pairKit(t testing.TB, p *runningPortal, k *runningKit, name string) {
	t.Helper()
	st := k.waitState(t, 20*time.Second, appliance.Pairing, hasCode)
	if code := p.api(t, "POST", "/api/v1/admin/pairings", map[string]string{"user_code": st.UserCode, "name": name, "location": "HQ"}, nil); code != http.StatusCreated {
		t.Fatalf("pair %s: HTTP %d", name, code)
	}
	k.waitState(t, 20*time.Second, appliance.Ready, func(s appliance.Status) bool { return s.RoomName == name && s.PortalConnected })
}

// guestJoin asks the portal to let a guest named name into meeting id.
func guestJoin(t testing.TB, portalURL, id, name string) (status int, url, token, errText string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name})
	resp, err := http.Post(portalURL+"/api/v1/meetings/"+id+"/join", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("guest join: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a struct{ URL, Token, Error string }
	json.Unmarshal(b, &a)
	return resp.StatusCode, a.URL, a.Token, a.Error
}

func participantNames(st appliance.Status) []string {
	if st.Meeting == nil {
		return nil
	}
	var names []string
	for _, p := range st.Meeting.Participants {
		names = append(names, p.Name)
	}
	return names
}

// kitStream counts the kit's audio packets or video frames at p.
func kitStream(p *meetingtest.Participant, what string) func() int {
	return map[string]func() int{
		"audio packets": func() int { return p.Stats().AudioPackets },
		"video frames":  func() int { return p.Stats().VideoFrames },
	}[what]
}

// kitMedia waits until the participant has received n more of the kit's
// audio packets or video frames (what): the kit's media is the clock of
// the checks that nothing else arrives meanwhile, so they take as long as
// the machine needs, not a guessed time.
func kitMedia(t *testing.T, p *meetingtest.Participant, what string, n int) {
	t.Helper()
	count := kitStream(p, what)
	base := count()
	waitFor(t, 60*time.Second, fmt.Sprintf("%d more %s from the kit", n, what), func() (bool, string) {
		return count() >= base+n, fmt.Sprintf("%d %s", count()-base, what)
	})
}

// settleKitMedia waits until the kit's stopped stream (its audio packets
// or video frames) no longer arrives at p while its other stream (clock)
// goes on for n: what was on its way arrives first, however late.
func settleKitMedia(t *testing.T, p *meetingtest.Participant, stopped, clock string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	late, err := meetingtest.Settle(ctx, kitStream(p, stopped), kitStream(p, clock), n)
	if err != nil {
		t.Fatalf("the kit's %s never stopped at the participant: %v", stopped, err)
	}
	t.Logf("%d of the kit's %s arrived after they stopped at the kit", late, stopped)
}

// TestMeetingEndToEnd is the demo's meeting with a participant on the
// LiveKit Go SDK instead of a browser: Meet Now through the control API,
// the kit's video and audio at the participant and the participant's at
// the kit, mute and camera off, a locked meeting, the portal going down
// and LiveKit restarting mid-meeting, and leaving.
func TestMeetingEndToEnd(t *testing.T) {
	lk := meetingtest.StartLiveKit(t)
	portalDir := t.TempDir()
	p := startPortalWith(t, portalDir, "127.0.0.1:0", liveKitConfig(lk))
	k := startKit(t, t.TempDir(), p.URL)
	pairKit(t, p, k, "Boardroom")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	t.Run("unknown meeting ID", func(t *testing.T) {
		_, err := k.control.Join(ctx, "123-456-789")
		if want := "roomd: join: No meeting has the ID 123-456-789."; err == nil || err.Error() != want {
			t.Errorf("join an unknown ID: %v, want %q", err, want)
		}
		if st := k.status(t); st.State != appliance.Ready || st.Meeting != nil {
			t.Errorf("after a failed join the kit is %s with meeting %+v", st.State, st.Meeting)
		}
	})

	st, err := k.control.MeetNow(ctx)
	if err != nil {
		t.Fatalf("meet-now: %v", err)
	}
	if st.State != appliance.InMeeting || st.Meeting == nil || len(st.Meeting.ID) != 9 || !st.Meeting.Organizer ||
		!strings.HasSuffix(st.Meeting.Title, "Meet Now") || !strings.Contains(st.Meeting.JoinURL, "/join/") {
		t.Fatalf("after meet-now: %s, meeting %+v", st.State, st.Meeting)
	}
	id := st.Meeting.ID
	kitIdentity := p.rooms(t)[0].ID

	code, url, token, msg := guestJoin(t, p.URL, id, "Ada")
	if code != 200 {
		t.Fatalf("guest join: %d %s", code, msg)
	}
	ada := meetingtest.Join(t, url, token, kitIdentity)

	t.Run("the kit's video and audio reach the participant", func(t *testing.T) {
		waitFor(t, 60*time.Second, "30 decoded pictures from the kit", func() (bool, string) {
			s := ada.Stats()
			return s.Pictures >= 30, fmt.Sprintf("%d pictures, %d packets", s.Pictures, s.VideoPackets)
		})
		first, last := ada.Pictures()
		if got := last.Rect.Size(); got != image.Pt(640, 480) {
			t.Errorf("the participant decodes %v pictures, want the kit's 640x480", got)
		}
		if meetingtest.ChangedPixels(first, last, 480/40*12) < 50 {
			t.Error("the test pattern's clock did not move between the first and the 30th picture: video is frozen")
		}
		waitFor(t, 30*time.Second, "a second of the kit's audio", func() (bool, string) {
			s := ada.Stats()
			return s.Samples >= 48000, fmt.Sprintf("%d packets, %d samples", s.AudioPackets, s.Samples)
		})
		pcm := ada.Audio(48000)
		if hz := meetingtest.ZeroCrossingHz(pcm, 48000); math.Abs(hz-440) > 15 {
			t.Errorf("the participant hears %.0f Hz, want the kit's 440 Hz tone", hz)
		}
	})

	if err := meetingtest.Publish(ctx, ada.Room, 320, 240, true); err != nil {
		t.Fatal(err)
	}
	t.Run("the kit lists, shows and hears the participant", func(t *testing.T) {
		waitFor(t, 30*time.Second, "Ada on the kit, with a picture", func() (bool, string) {
			st := k.status(t)
			if st.Meeting == nil {
				return false, "no meeting"
			}
			for _, tl := range st.Meeting.Tiles {
				if tl.Name == "Ada" && tl.Picture {
					return strings.Join(participantNames(st), ",") == "Ada", fmt.Sprint(participantNames(st))
				}
			}
			return false, fmt.Sprintf("tiles %+v", st.Meeting.Tiles)
		})
		waitFor(t, 30*time.Second, "Ada's tone at the kit's speaker", func() (bool, string) {
			peak, written := k.speaker.Level()
			return peak > 2000 && written > 48000/2, fmt.Sprintf("peak %d, %d samples", peak, written)
		})
	})

	t.Run("mute stops the kit's audio", func(t *testing.T) {
		if st, err := k.control.SetMuted(ctx, true); err != nil || !st.Muted || !st.Meeting.Muted {
			t.Fatalf("mute: %v", err)
		}
		waitFor(t, 20*time.Second, "the participant to see the kit muted", func() (bool, string) {
			audio, _ := ada.KitMuted()
			return audio, ""
		})
		// The kit's video is the clock: audio already on its way arrives,
		// however late, then two seconds (60 frames) of the room's sound
		// that nobody may hear.
		settleKitMedia(t, ada, "audio packets", "video frames", 30)
		mark := ada.Stats().Samples
		kitMedia(t, ada, "video frames", 60)
		heard := ada.Audio(ada.Stats().Samples - mark)
		if rms := meetingtest.RMS(heard); len(heard) > 0 && rms > 100 {
			t.Errorf("the participant heard RMS %.0f over %d samples while the room was muted", rms, len(heard))
		}
		if _, err := k.control.SetMuted(ctx, false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the tone again after unmute", func() (bool, string) {
			rms := meetingtest.RMS(ada.Audio(9600))
			return rms > 1000, fmt.Sprintf("RMS %.0f", rms)
		})
	})

	t.Run("camera off stops the kit's video", func(t *testing.T) {
		if st, err := k.control.SetCameraOff(ctx, true); err != nil || !st.Meeting.CameraOff {
			t.Fatalf("camera off: %v", err)
		}
		waitFor(t, 20*time.Second, "the participant to see the camera off", func() (bool, string) {
			_, video := ada.KitMuted()
			return video, ""
		})
		// The kit's own audio is the clock: video already on its way
		// arrives, however late, then two seconds (100 audio packets) in
		// which no new video frame may.
		settleKitMedia(t, ada, "video frames", "audio packets", 50)
		before := ada.Stats().VideoFrames
		kitMedia(t, ada, "audio packets", 100)
		if after := ada.Stats().VideoFrames; after != before {
			t.Errorf("the participant received %d new video frames with the camera off", after-before)
		}
		pics := ada.Stats().Pictures
		if _, err := k.control.SetCameraOff(ctx, false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "video again", func() (bool, string) { return ada.Stats().Pictures > pics+15, "" })
	})

	t.Run("a locked meeting", func(t *testing.T) {
		if err := k.LockMeeting(ctx, true); err != nil {
			t.Fatal(err)
		}
		if !k.status(t).Meeting.Locked {
			t.Error("status does not say locked")
		}
		// Another room tries to join it.
		other := startKit(t, t.TempDir(), p.URL)
		pairKit(t, p, other, "Library")
		_, err := other.control.Join(ctx, id)
		if want := "roomd: join: This meeting is locked."; err == nil || err.Error() != want {
			t.Errorf("another room joins the locked meeting: %v, want %q", err, want)
		}
		other.stop()
		if code, _, _, msg := guestJoin(t, p.URL, id, "Late"); code != 403 || msg != "This meeting is locked." {
			t.Errorf("a guest joins the locked meeting: %d %q", code, msg)
		}
		if err := k.LockMeeting(ctx, false); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the meeting goes on while the portal is down", func(t *testing.T) {
		p.stop()
		waitFor(t, 20*time.Second, "the kit to notice the portal is gone", func() (bool, string) {
			st := k.status(t)
			return !st.PortalConnected, ""
		})
		was := ada.Stats()
		waitFor(t, 20*time.Second, "media to keep flowing", func() (bool, string) {
			s := ada.Stats()
			return s.Pictures > was.Pictures+30 && s.Samples > was.Samples+48000,
				fmt.Sprintf("%d pictures, %d samples more", s.Pictures-was.Pictures, s.Samples-was.Samples)
		})
		if st := k.status(t); st.State != appliance.InMeeting || st.Meeting.Connection != "connected" {
			t.Errorf("with the portal down the kit is %s, %+v", st.State, st.Meeting)
		}
	})

	// LiveKit creates no rooms (auto_create off): after it restarts, only
	// the portal brings the meeting's room back, so the portal returns
	// first (a restart on the same address) and the kit rejoins with a
	// fresh token from it.
	p = startPortalWith(t, portalDir, p.addr, liveKitConfig(lk))
	t.Run("the kit reconnects after LiveKit restarts", func(t *testing.T) {
		before := k.status(t).Meeting.Reconnects
		if err := lk.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 90*time.Second, "the kit to be connected again", func() (bool, string) {
			st := k.status(t)
			return st.State == appliance.InMeeting && st.Meeting.Connection == "connected" && st.Meeting.Reconnects > before,
				fmt.Sprintf("%s %+v", st.State, st.Meeting)
		})
		// The SDK participant does not rejoin by itself (a browser's page
		// would, through the portal, as here).
		ada.Room.Disconnect()
		code, url, token, msg := guestJoin(t, p.URL, id, "Ada")
		if code != 200 {
			t.Fatalf("guest join after the restart: %d %s", code, msg)
		}
		ada = meetingtest.Join(t, url, token, kitIdentity)
		waitFor(t, 60*time.Second, "the kit's video at the participant again", func() (bool, string) {
			s := ada.Stats()
			return s.Pictures > 15, fmt.Sprintf("%d pictures, %d packets", s.Pictures, s.VideoPackets)
		})
	})

	t.Run("leave", func(t *testing.T) {
		st, err := k.control.Leave(ctx)
		if err != nil || st.State != appliance.Ready || st.Meeting != nil {
			t.Fatalf("leave: %+v, %v", st, err)
		}
		if _, err := k.control.Leave(ctx); err == nil || err.Error() != "roomd: not in a meeting" {
			t.Errorf("leave again: %v", err)
		}
		rs := lksdk.NewRoomServiceClient(lk.URL, lk.APIKey, lk.APISecret)
		waitFor(t, 20*time.Second, "the kit to be gone from the meeting", func() (bool, string) {
			res, err := rs.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: id})
			if err != nil {
				return false, err.Error()
			}
			for _, p := range res.Participants {
				if p.Identity == kitIdentity {
					return false, "LiveKit still lists the kit"
				}
			}
			return true, ""
		})
	})
}
