package meeting

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	protoLogger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"roomkit/appliance/meeting/codec"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera/cameratest"
	"roomkit/portal/sfu"
)

// testLogger shows warnings (and the SDK's) when -v is given.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("test", t.Name())
}

func startSFU(t *testing.T, ctx context.Context) *sfu.Server {
	t.Helper()
	srv, err := sfu.Start(ctx, sfu.Options{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if errors.Is(err, sfu.ErrNotFound) {
		t.Skip("livekit-server is not installed: run scripts/setup-livekit.sh")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

func token(t *testing.T, srv *sfu.Server, room, identity, name string) string {
	t.Helper()
	tok, err := auth.NewAccessToken(srv.APIKey, srv.APISecret).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room}).
		SetIdentity(identity).SetName(name).SetValidFor(time.Hour).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// waitFor polls cond until it holds or ctx (the test's overall deadline)
// ends. It asserts an outcome, never a duration.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting: %s", what)
		case <-tick.C:
		}
	}
}

// peer is a second participant on the plain LiveKit Go SDK, standing in for
// a browser: it decodes what the kit sends and publishes its own media.
type peer struct {
	room *lksdk.Room

	mu          sync.Mutex
	pics        []*image.YCbCr // decoded pictures from the kit, in order
	picCount    int
	pcm         []int16 // the last few seconds of decoded audio from the kit
	pcmTotal    int     // samples decoded in all
	audioPkts   int
	videoPkts   int
	kitAudioPub *lksdk.RemoteTrackPublication
	kitVideoPub *lksdk.RemoteTrackPublication
}

func joinPeer(t *testing.T, ctx context.Context, srv *sfu.Server, room, identity string) *peer {
	t.Helper()
	p := &peer{}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		if rp.Identity() != "kit" {
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
	r, err := lksdk.ConnectToRoomWithToken(srv.URL, token(t, srv, room, identity, "Ada"), cb,
		lksdk.WithLogger(protoDiscard()))
	if err != nil {
		t.Fatalf("peer join: %v", err)
	}
	p.room = r
	return p
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
			p.picCount++
			if len(p.pics) < 400 {
				p.pics = append(p.pics, pic)
			}
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
			if over := len(p.pcm) - 5*48000; over > 0 {
				p.pcm = append(p.pcm[:0], p.pcm[over:]...)
			}
		}
		p.mu.Unlock()
	}
}

func (p *peer) counts() (pics, videoPkts, audioPkts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.picCount, p.videoPkts, p.audioPkts
}

// publish sends a synthetic camera (H.264) and a 660 Hz tone (Opus) from
// the peer until ctx ends.
func (p *peer) publish(t *testing.T, ctx context.Context) {
	t.Helper()
	vt, err := lksdk.NewLocalTrack(h264Capability)
	if err != nil {
		t.Fatal(err)
	}
	at, err := lksdk.NewLocalTrack(opusCapability)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.room.LocalParticipant.PublishTrack(vt, &lksdk.TrackPublicationOptions{Name: "camera", Source: livekit.TrackSource_CAMERA, VideoWidth: 320, VideoHeight: 240}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.room.LocalParticipant.PublishTrack(at, &lksdk.TrackPublicationOptions{Name: "mic", Source: livekit.TrackSource_MICROPHONE}); err != nil {
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
	go func() {
		sp := audiotest.NewSynthetic(660)
		enc, err := codec.NewOpusEncoder(32000)
		if err != nil {
			panic(err)
		}
		defer enc.Close()
		buf := make([]int16, frameSamples)
		for {
			if err := sp.Read(ctx, buf); err != nil {
				return
			}
			pkt, err := enc.Encode(buf)
			if err != nil {
				panic(err)
			}
			level := audioLevel(buf)
			at.WriteSample(media.Sample{Data: pkt, Duration: frameDuration}, &lksdk.SampleWriteOptions{AudioLevel: &level})
		}
	}()
}

func TestMain(m *testing.M) {
	lksdk.SetLogger(protoDiscard()) // the SDK logs every ICE state change
	os.Exit(m.Run())
}

// TestMeetingEndToEnd runs the kit's session against a real livekit-server
// with a second participant on the LiveKit SDK, through mute, camera off,
// an SFU restart and leaving.
func TestMeetingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts livekit-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	srv := startSFU(t, ctx)
	const room = "123456789"

	cam := cameratest.NewSynthetic(1280, 720, 30)
	sp := audiotest.NewSynthetic(440)
	var changes atomic.Int64
	kit, err := Join(ctx, Config{
		URL: srv.URL, Token: token(t, srv, room, "kit", "Board Room"),
		Camera: cam, Speakerphone: sp, Logger: testLogger(t),
		OnChange: func() { changes.Add(1) },
	})
	if err != nil {
		t.Fatalf("kit join: %v", err)
	}
	defer kit.Leave()
	if c := kit.Connection(); c != Connected {
		t.Fatalf("after Join the connection is %q", c)
	}

	ada := joinPeer(t, ctx, srv, room, "guest-ada")
	defer func() { ada.room.Disconnect() }() // the Ada of the moment: she joins again below

	t.Run("kit video reaches the peer", func(t *testing.T) {
		waitFor(t, ctx, "45 decoded frames at the peer", func() bool { n, _, _ := ada.counts(); return n >= 45 })
		ada.mu.Lock()
		first, last := ada.pics[0], ada.pics[len(ada.pics)-1]
		ada.mu.Unlock()
		if got := last.Rect.Size(); got != image.Pt(1280, 720) {
			t.Fatalf("peer decoded %v frames, want 1280x720", got)
		}
		for bar := 0; bar < 8; bar++ {
			x := (2*bar + 1) * 1280 / 16
			want := cameratest.BarColour(x, 1280)
			got := last.YCbCrAt(x, 360)
			if diff(got.Y, want[0]) > 16 || diff(got.Cb, want[1]) > 16 || diff(got.Cr, want[2]) > 16 {
				t.Errorf("bar %d: peer sees YUV %d,%d,%d, want about %v", bar, got.Y, got.Cb, got.Cr, want)
			}
		}
		if bandsEqual(first, last, (720/40)*12) {
			t.Error("the clock band did not change between the first and the 45th decoded frame: video is frozen")
		}
	})

	t.Run("kit audio reaches the peer as a 440 Hz tone", func(t *testing.T) {
		waitFor(t, ctx, "1.5 s of audio at the peer", func() bool {
			ada.mu.Lock()
			defer ada.mu.Unlock()
			return ada.pcmTotal >= 72000
		})
		ada.mu.Lock()
		pcm := append([]int16(nil), ada.pcm[len(ada.pcm)-48000:]...)
		ada.mu.Unlock()
		if hz := zeroCrossingHz(pcm, 48000); math.Abs(hz-440) > 15 {
			t.Errorf("peer hears %.0f Hz, want 440", hz)
		}
		if rms(pcm) < 1000 {
			t.Errorf("peer hears the tone at RMS %.0f, want about 5800", rms(pcm))
		}
	})

	ada.publish(t, ctx)

	t.Run("peer media reaches the kit", func(t *testing.T) {
		waitFor(t, ctx, "a tile with a picture for the peer", func() bool {
			for _, tl := range kit.Tiles() {
				if tl.Identity == "guest-ada" && tl.Frame != nil {
					return true
				}
			}
			return false
		})
		tl := kit.Tiles()[0]
		if tl.Name != "Ada" || tl.Frame.Rect.Size() != image.Pt(320, 240) {
			t.Errorf("tile %q with a %v frame, want Ada's 320x240 camera", tl.Name, tl.Frame.Rect)
		}
		waitFor(t, ctx, "the peer's tone at the kit's speaker", func() bool {
			peak, written := sp.Level()
			return peak > 2000 && written > 48000/2
		})
		ps := kit.Participants()
		if len(ps) != 1 || ps[0].Identity != "guest-ada" || ps[0].AudioMuted || ps[0].VideoMuted {
			t.Errorf("participants = %+v, want Ada with audio and video on", ps)
		}
		if changes.Load() == 0 {
			t.Error("OnChange was never called: the screen would not redraw")
		}
	})

	t.Run("a VP8 participant gets a placeholder tile", func(t *testing.T) {
		bob := joinPeer(t, ctx, srv, room, "guest-bob")
		defer bob.room.Disconnect()
		vt, err := lksdk.NewLocalTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bob.room.LocalParticipant.PublishTrack(vt, &lksdk.TrackPublicationOptions{Name: "camera", Source: livekit.TrackSource_CAMERA}); err != nil {
			t.Fatal(err)
		}
		bctx, bcancel := context.WithCancel(ctx)
		defer bcancel()
		go func() {
			frame := make([]byte, 1000) // not a valid VP8 frame either: the kit must not care
			for sleepCtx(bctx, 66*time.Millisecond) {
				vt.WriteSample(media.Sample{Data: frame, Duration: 66 * time.Millisecond}, nil)
			}
		}()
		var bobTile Tile
		waitFor(t, ctx, "a placeholder tile naming VP8", func() bool {
			for _, tl := range kit.Tiles() {
				if tl.Identity == "guest-bob" && tl.Placeholder != placeholderWaiting && tl.Placeholder != placeholderCameraOff {
					bobTile = tl
					return true
				}
			}
			return false
		})
		if bobTile.Frame != nil || !strings.Contains(bobTile.Placeholder, "VP8") {
			t.Errorf("VP8 tile = %+v, want a placeholder naming VP8", bobTile)
		}
		bob.room.Disconnect()
		waitFor(t, ctx, "Bob's tile to go", func() bool { return len(kit.Tiles()) == 1 })
	})

	t.Run("mute stops the kit's audio", func(t *testing.T) {
		kit.SetMuted(true)
		base := kit.Stats().AudioFramesMuted
		waitFor(t, ctx, "the peer to see the kit muted", func() bool {
			ada.mu.Lock()
			defer ada.mu.Unlock()
			return ada.kitAudioPub != nil && ada.kitAudioPub.IsMuted()
		})
		waitFor(t, ctx, "25 muted frames", func() bool { return kit.Stats().AudioFramesMuted >= base+25 })
		sent := kit.Stats().AudioFramesSent
		ada.mu.Lock()
		mark := ada.pcmTotal
		ada.mu.Unlock()
		waitFor(t, ctx, "50 more muted frames", func() bool { return kit.Stats().AudioFramesMuted >= base+75 })
		if n := kit.Stats().AudioFramesSent - sent; n != 0 {
			t.Errorf("%d microphone frames were sent while muted", n)
		}
		// LiveKit may send the peer a few silent frames of its own when a
		// track mutes; what must not arrive is the room's sound.
		ada.mu.Lock()
		heard := append([]int16(nil), ada.pcm[max(len(ada.pcm)-(ada.pcmTotal-mark), 0):]...)
		ada.mu.Unlock()
		if len(heard) > 0 && rms(heard) > 100 {
			t.Errorf("the peer heard RMS %.0f over %d samples while the kit was muted", rms(heard), len(heard))
		}
		_, _, before := ada.counts()
		kit.SetMuted(false)
		waitFor(t, ctx, "audio to resume after unmute", func() bool { _, _, a := ada.counts(); return a > before+25 })
		waitFor(t, ctx, "the tone again after unmute", func() bool {
			ada.mu.Lock()
			defer ada.mu.Unlock()
			return len(ada.pcm) >= 9600 && rms(ada.pcm[len(ada.pcm)-9600:]) > 1000
		})
	})

	t.Run("camera off stops the kit's video", func(t *testing.T) {
		kit.SetCameraOff(true)
		base := kit.Stats().VideoFramesDropped
		sentBefore := kit.Stats().VideoFramesSent
		waitFor(t, ctx, "the peer to see the kit's camera off", func() bool {
			ada.mu.Lock()
			defer ada.mu.Unlock()
			return ada.kitVideoPub != nil && ada.kitVideoPub.IsMuted()
		})
		// A second for frames already on their way to arrive, then two
		// seconds in which nothing may.
		waitFor(t, ctx, "30 frames held back", func() bool { return kit.Stats().VideoFramesDropped >= base+30 })
		_, before, _ := ada.counts()
		waitFor(t, ctx, "60 more frames held back", func() bool { return kit.Stats().VideoFramesDropped >= base+90 })
		if _, after, _ := ada.counts(); after != before {
			t.Errorf("the peer received %d video packets with the camera off", after-before)
		}
		if sent := kit.Stats().VideoFramesSent; sent > sentBefore+1 {
			t.Errorf("%d frames were written to the track with the camera off", sent-sentBefore)
		}
		picsBefore, _, _ := ada.counts()
		kit.SetCameraOff(false)
		waitFor(t, ctx, "video to resume", func() bool { n, _, _ := ada.counts(); return n > picsBefore+15 })
	})

	t.Run("the kit reconnects after an SFU restart", func(t *testing.T) {
		reconnects := kit.Stats().Reconnects
		if err := srv.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the kit to notice the restart", func() bool {
			return kit.Connection() != Connected || kit.Stats().Reconnects > reconnects
		})
		waitFor(t, ctx, "the kit to be connected again", func() bool {
			return kit.Connection() == Connected && kit.Stats().Reconnects > reconnects
		})
		// LiveKit tells every participant to leave when it shuts down; the
		// SDK peer does not rejoin by itself (a browser's page would), so
		// Ada joins again as a browser would.
		ada.room.Disconnect()
		ada = joinPeer(t, ctx, srv, room, "guest-ada")
		ada.publish(t, ctx)
		waitFor(t, ctx, "the peer to decode the kit's video again", func() bool { n, _, _ := ada.counts(); return n > 30 })
		waitFor(t, ctx, "the peer to hear the kit again", func() bool {
			ada.mu.Lock()
			defer ada.mu.Unlock()
			return len(ada.pcm) >= 9600 && rms(ada.pcm[len(ada.pcm)-9600:]) > 1000
		})
		waitFor(t, ctx, "Ada's tile to come back with a picture", func() bool {
			ts := kit.Tiles()
			return len(ts) == 1 && ts[0].Identity == "guest-ada" && ts[0].Frame != nil
		})
	})

	t.Run("leave", func(t *testing.T) {
		if err := kit.Leave(); err != nil {
			t.Fatal(err)
		}
		if c := kit.Connection(); c != Disconnected {
			t.Errorf("after Leave the connection is %q", c)
		}
		waitFor(t, ctx, "the peer to see the kit leave", func() bool { return ada.room.GetParticipantByIdentity("kit") == nil })
		if err := kit.Leave(); err != nil {
			t.Errorf("second Leave: %v", err)
		}
	})
}

func diff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func bandsEqual(a, b *image.YCbCr, rows int) bool {
	n := 0
	for y := 0; y < rows; y++ {
		for x := 0; x < a.Rect.Dx(); x++ {
			if diff(a.Y[y*a.YStride+x], b.Y[y*b.YStride+x]) > 60 {
				n++
			}
		}
	}
	return n < 50
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
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

func protoDiscard() protoLogger.Logger { return protoLogger.LogRLogger(logr.Discard()) }
