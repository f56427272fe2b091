package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"roomkit/appliance"
	"roomkit/appliance/meeting/codec"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera/cameratest"
	"roomkit/portal"
	"roomkit/portal/sfu"
)

// The SDK logs every ICE state change at info level.
func init() { lksdk.SetLogger(protologger.GetDiscardLogger()) }

// joinPageAssets is where scripts/setup-npm.sh puts livekit-client's
// browser build.
func joinPageAssets() string { return filepath.Join("..", "portal", "joinpage", "build") }

// startLiveKit starts livekit-server on loopback for the test. Without the
// binary the test is skipped, unless CI is set: CI's setup installs it.
func startLiveKit(t testing.TB) *sfu.Server {
	t.Helper()
	if _, err := sfu.FindBinary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set, so setup should have installed it)", err)
		}
		t.Skipf("%v; skipping the meeting test", err)
	}
	lk, err := sfu.Start(context.Background(), sfu.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Stop() })
	return lk
}

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

// peer is a second participant on the LiveKit Go SDK: it decodes what the
// kit sends and can publish a synthetic camera and a tone of its own.
type peer struct {
	room *lksdk.Room
	kit  string // the kit's identity

	mu          sync.Mutex
	firstPic    *image.YCbCr
	lastPic     *image.YCbCr
	pics        int
	videoPkts   int
	firstVideo  time.Time // the first video packet from the kit
	audioPkts   int
	pcm         []int16 // the last seconds of the kit's audio
	pcmTotal    int
	kitAudioPub *lksdk.RemoteTrackPublication
	kitVideoPub *lksdk.RemoteTrackPublication
	others      map[string]time.Time // first video packet from anyone else, by identity
}

func joinPeer(t testing.TB, url, token, kitIdentity string) *peer {
	t.Helper()
	p := &peer{kit: kitIdentity, others: map[string]time.Time{}}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		if rp.Identity() != p.kit {
			if track.Kind() == webrtc.RTPCodecTypeVideo {
				go p.watchOther(rp.Identity(), track)
			}
			return
		}
		switch track.Kind() {
		case webrtc.RTPCodecTypeVideo:
			p.mu.Lock()
			p.kitVideoPub = pub
			p.mu.Unlock()
			go p.readVideo(track, func() { rp.WritePLI(track.SSRC()) })
		case webrtc.RTPCodecTypeAudio:
			p.mu.Lock()
			p.kitAudioPub = pub
			p.mu.Unlock()
			go p.readAudio(track)
		}
	}
	r, err := lksdk.ConnectToRoomWithToken(url, token, cb)
	if err != nil {
		t.Fatalf("peer join: %v", err)
	}
	p.room = r
	t.Cleanup(r.Disconnect)
	return p
}

func (p *peer) watchOther(identity string, track *webrtc.TrackRemote) {
	for {
		if _, _, err := track.ReadRTP(); err != nil {
			return
		}
		p.mu.Lock()
		if _, ok := p.others[identity]; !ok {
			p.others[identity] = time.Now()
		}
		p.mu.Unlock()
	}
}

func (p *peer) readVideo(track *webrtc.TrackRemote, pli func()) {
	dec, err := codec.NewH264Decoder()
	if err != nil {
		panic(err)
	}
	defer dec.Close()
	sb := samplebuilder.New(512, &codecs.H264Packet{}, 90000)
	pli()
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.videoPkts == 0 {
			p.firstVideo = time.Now()
		}
		p.videoPkts++
		p.mu.Unlock()
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			pic, err := dec.Decode(s.Data, nil)
			if err != nil {
				if !errors.Is(err, codec.ErrNoPicture) {
					pli()
				}
				continue
			}
			p.mu.Lock()
			if p.firstPic == nil {
				p.firstPic = pic
			}
			p.lastPic = pic
			p.pics++
			p.mu.Unlock()
		}
	}
}

func (p *peer) readAudio(track *webrtc.TrackRemote) {
	dec, err := codec.NewOpusDecoder()
	if err != nil {
		panic(err)
	}
	defer dec.Close()
	pcm := make([]int16, 5760)
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		n, err := dec.Decode(pkt.Payload, pcm)
		p.mu.Lock()
		p.audioPkts++
		if err == nil {
			p.pcm = append(p.pcm, pcm[:n]...)
			p.pcmTotal += n
			if over := len(p.pcm) - 3*48000; over > 0 {
				p.pcm = append(p.pcm[:0], p.pcm[over:]...)
			}
		}
		p.mu.Unlock()
	}
}

func (p *peer) counts() (pics, videoPkts, audioPkts, pcmTotal int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pics, p.videoPkts, p.audioPkts, p.pcmTotal
}

// recentAudio is the last n samples of the kit's audio.
func (p *peer) recentAudio(n int) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pcm) < n {
		return nil
	}
	return append([]int16(nil), p.pcm[len(p.pcm)-n:]...)
}

// publish sends a synthetic 320×240 H.264 camera and a 660 Hz tone until
// ctx ends.
func (p *peer) publish(t testing.TB, ctx context.Context) {
	t.Helper()
	publishSynthetic(t, ctx, p.room, true)
}

var (
	h264 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	opus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
)

// publishSynthetic publishes a synthetic H.264 camera (and, with audio, a
// 660 Hz tone as Opus) on room until ctx ends.
func publishSynthetic(t testing.TB, ctx context.Context, room *lksdk.Room, withAudio bool) {
	t.Helper()
	vt, err := lksdk.NewLocalTrack(h264)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := room.LocalParticipant.PublishTrack(vt, &lksdk.TrackPublicationOptions{Name: "camera", Source: livekit.TrackSource_CAMERA, VideoWidth: 320, VideoHeight: 240}); err != nil {
		t.Fatal(err)
	}
	go func() {
		cam := cameratest.NewSynthetic(320, 240, 15)
		enc, err := codec.NewH264Encoder(codec.H264Options{Width: 320, Height: 240, FPS: 15, Bitrate: 300_000, KeyframeInterval: 15})
		if err != nil {
			panic(err)
		}
		defer enc.Close()
		for {
			f, err := cam.Next(ctx)
			if err != nil {
				return
			}
			au, err := enc.Encode(f.Data)
			if err != nil {
				panic(err)
			}
			vt.WriteSample(media.Sample{Data: au, Duration: time.Second / 15}, nil)
		}
	}()
	if !withAudio {
		return
	}
	at, err := lksdk.NewLocalTrack(opus)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := room.LocalParticipant.PublishTrack(at, &lksdk.TrackPublicationOptions{Name: "mic", Source: livekit.TrackSource_MICROPHONE}); err != nil {
		t.Fatal(err)
	}
	go func() {
		sp := audiotest.NewSynthetic(660)
		enc, err := codec.NewOpusEncoder(32000)
		if err != nil {
			panic(err)
		}
		defer enc.Close()
		buf := make([]int16, codec.OpusFrameSamples)
		for {
			if err := sp.Read(ctx, buf); err != nil {
				return
			}
			pkt, err := enc.Encode(buf)
			if err != nil {
				panic(err)
			}
			at.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond}, nil)
		}
	}()
}

func zeroCrossingHz(s []int16, rate int) float64 {
	n := 0
	for i := 1; i < len(s); i++ {
		if s[i-1] < 0 && s[i] >= 0 {
			n++
		}
	}
	return float64(n) * float64(rate) / float64(len(s))
}

func rms(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// changedPixels counts luma samples that differ by more than 60 between
// a and b in their top rows (where the test pattern's clock is).
func changedPixels(a, b *image.YCbCr, rows int) int {
	n := 0
	for y := 0; y < rows && y < a.Rect.Dy(); y++ {
		for x := 0; x < a.Rect.Dx(); x++ {
			d := int(a.Y[y*a.YStride+x]) - int(b.Y[y*b.YStride+x])
			if d > 60 || d < -60 {
				n++
			}
		}
	}
	return n
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

// TestMeetingEndToEnd is the demo's meeting with a participant on the
// LiveKit Go SDK instead of a browser: Meet Now through the control API,
// the kit's video and audio at the participant and the participant's at
// the kit, mute and camera off, a locked meeting, the portal going down
// and LiveKit restarting mid-meeting, and leaving.
func TestMeetingEndToEnd(t *testing.T) {
	lk := startLiveKit(t)
	p := startPortalWith(t, t.TempDir(), "127.0.0.1:0", liveKitConfig(lk))
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
	ada := joinPeer(t, url, token, kitIdentity)

	t.Run("the kit's video and audio reach the participant", func(t *testing.T) {
		waitFor(t, 60*time.Second, "30 decoded pictures from the kit", func() (bool, string) {
			n, pk, _, _ := ada.counts()
			return n >= 30, fmt.Sprintf("%d pictures, %d packets", n, pk)
		})
		ada.mu.Lock()
		first, last := ada.firstPic, ada.lastPic
		ada.mu.Unlock()
		if got := last.Rect.Size(); got != image.Pt(640, 480) {
			t.Errorf("the participant decodes %v pictures, want the kit's 640x480", got)
		}
		if changedPixels(first, last, 480/40*12) < 50 {
			t.Error("the test pattern's clock did not move between the first and the 30th picture: video is frozen")
		}
		waitFor(t, 30*time.Second, "a second of the kit's audio", func() (bool, string) {
			_, _, a, n := ada.counts()
			return n >= 48000, fmt.Sprintf("%d packets, %d samples", a, n)
		})
		pcm := ada.recentAudio(48000)
		if hz := zeroCrossingHz(pcm, 48000); math.Abs(hz-440) > 15 {
			t.Errorf("the participant hears %.0f Hz, want the kit's 440 Hz tone", hz)
		}
	})

	ada.publish(t, ctx)
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
			ada.mu.Lock()
			defer ada.mu.Unlock()
			return ada.kitAudioPub != nil && ada.kitAudioPub.IsMuted(), ""
		})
		time.Sleep(time.Second) // packets on their way arrive
		_, _, _, mark := ada.counts()
		time.Sleep(2 * time.Second)
		_, _, _, now := ada.counts()
		if heard := ada.recentAudio(now - mark); len(heard) > 0 && rms(heard) > 100 {
			t.Errorf("the participant heard RMS %.0f over %d samples while the room was muted", rms(heard), len(heard))
		}
		if _, err := k.control.SetMuted(ctx, false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the tone again after unmute", func() (bool, string) {
			pcm := ada.recentAudio(9600)
			return rms(pcm) > 1000, fmt.Sprintf("RMS %.0f", rms(pcm))
		})
	})

	t.Run("camera off stops the kit's video", func(t *testing.T) {
		if st, err := k.control.SetCameraOff(ctx, true); err != nil || !st.Meeting.CameraOff {
			t.Fatalf("camera off: %v", err)
		}
		waitFor(t, 20*time.Second, "the participant to see the camera off", func() (bool, string) {
			ada.mu.Lock()
			defer ada.mu.Unlock()
			return ada.kitVideoPub != nil && ada.kitVideoPub.IsMuted(), ""
		})
		time.Sleep(time.Second)
		_, before, _, _ := ada.counts()
		time.Sleep(2 * time.Second)
		if _, after, _, _ := ada.counts(); after != before {
			t.Errorf("the participant received %d video packets with the camera off", after-before)
		}
		pics, _, _, _ := ada.counts()
		if _, err := k.control.SetCameraOff(ctx, false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "video again", func() (bool, string) { n, _, _, _ := ada.counts(); return n > pics+15, "" })
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
		pics, _, _, samples := ada.counts()
		waitFor(t, 20*time.Second, "media to keep flowing", func() (bool, string) {
			n, _, _, s := ada.counts()
			return n > pics+30 && s > samples+48000, fmt.Sprintf("%d pictures, %d samples more", n-pics, s-samples)
		})
		if st := k.status(t); st.State != appliance.InMeeting || st.Meeting.Connection != "connected" {
			t.Errorf("with the portal down the kit is %s, %+v", st.State, st.Meeting)
		}
	})

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
		// would); with the portal down, it gets a token from LiveKit's keys.
		ada.room.Disconnect()
		tok, err := auth.NewAccessToken(lk.APIKey, lk.APISecret).
			SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: id}).
			SetIdentity("guest-ada2").SetName("Ada").SetValidFor(time.Hour).ToJWT()
		if err != nil {
			t.Fatal(err)
		}
		ada = joinPeer(t, lk.URL, tok, kitIdentity)
		waitFor(t, 60*time.Second, "the kit's video at the participant again", func() (bool, string) {
			n, pk, _, _ := ada.counts()
			return n > 15, fmt.Sprintf("%d pictures, %d packets", n, pk)
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
