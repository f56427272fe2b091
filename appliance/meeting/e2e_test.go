package meeting

import (
	"context"
	"image"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"roomkit/appliance/meeting/meetingtest"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera/cameratest"
	"roomkit/internal/clock"
	"roomkit/portal/sfu"
)

// testLogger shows warnings (and the SDK's) when -v is given.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("test", t.Name())
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

// settle waits for what, counted by count, to stop arriving at the peer:
// until it stays the same while clock advances by n (meetingtest.Settle).
func settle(t *testing.T, ctx context.Context, what string, count, clock func() int, n int) {
	t.Helper()
	late, err := meetingtest.Settle(ctx, count, clock, n)
	if err != nil {
		t.Fatalf("%s never stopped: %v", what, err)
	}
	t.Logf("%s: %d arrived after it stopped at the source", what, late)
}

// joinPeer joins a second participant on the plain LiveKit Go SDK as
// Ada, standing in for a browser: it decodes what the kit sends.
func joinPeer(t *testing.T, srv *sfu.Server, room, identity string) *meetingtest.Participant {
	t.Helper()
	return meetingtest.Join(t, srv.URL, meetingtest.Token(t, srv, room, identity, "Ada"), "kit")
}

// publish sends a synthetic camera (320x240 H.264) and a 660 Hz tone
// (Opus) from the peer until ctx ends.
func publish(t *testing.T, ctx context.Context, p *meetingtest.Participant) {
	t.Helper()
	if err := meetingtest.Publish(ctx, p.Room, 320, 240, true); err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	lksdk.SetLogger(protologger.GetDiscardLogger()) // the SDK logs every ICE state change
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
	srv := meetingtest.StartLiveKit(t)
	const room = "123456789"

	cam := cameratest.NewSynthetic(1280, 720, 30)
	sp := audiotest.NewSynthetic(440)
	var changes atomic.Int64
	var dtls atomic.Bool
	kit, err := Join(ctx, Config{
		URL: srv.URL, Token: meetingtest.Token(t, srv, room, "kit", "Board Room"),
		Renew:  portalStandIn(srv, room, "kit"), // the restarted SFU has no room
		Camera: cam, Speakerphone: sp, Logger: testLogger(t),
		OnChange: func() { changes.Add(1) },
		OnStep: func(st Step) {
			if st == StepDTLS {
				dtls.Store(true)
			}
		},
	})
	if err != nil {
		t.Fatalf("kit join: %v", err)
	}
	defer kit.Leave()
	if c := kit.Connection(); c != Connected {
		t.Fatalf("after Join the connection is %q", c)
	}

	ada := joinPeer(t, srv, room, "guest-ada")

	t.Run("kit video reaches the peer", func(t *testing.T) {
		waitFor(t, ctx, "45 decoded frames at the peer", func() bool { return ada.Stats().Pictures >= 45 })
		first, last := ada.Pictures()
		if got := last.Rect.Size(); got != image.Pt(1280, 720) {
			t.Fatalf("peer decoded %v frames, want 1280x720", got)
		}
		if err := meetingtest.CheckBars(last, 16); err != nil {
			t.Errorf("the peer sees the wrong colours: %v", err)
		}
		if meetingtest.ChangedPixels(first, last, (720/40)*12) < 50 {
			t.Error("the clock band did not change between the first and the 45th decoded frame: video is frozen")
		}
		// The SDK's debug line that says the publishing connection is up
		// is also what sends the first keyframe at once (log.go): a newer
		// SDK that renames it would slow every join by up to a frame.
		if !dtls.Load() {
			t.Error("the SDK never logged its publisher's connection as connected (\"peer connection state changed\"): the first keyframe waits for the camera (log.go, steps.go)")
		}
	})

	t.Run("kit audio reaches the peer as a 440 Hz tone", func(t *testing.T) {
		waitFor(t, ctx, "1.5 s of audio at the peer", func() bool { return ada.Stats().Samples >= 72000 })
		pcm := ada.Audio(48000)
		if hz := meetingtest.ZeroCrossingHz(pcm, 48000); math.Abs(hz-440) > 15 {
			t.Errorf("peer hears %.0f Hz, want 440", hz)
		}
		if rms := meetingtest.RMS(pcm); rms < 1000 {
			t.Errorf("peer hears the tone at RMS %.0f, want about 5800", rms)
		}
	})

	publish(t, ctx, ada)

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
		bob := joinPeer(t, srv, room, "guest-bob")
		vt, err := lksdk.NewLocalTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Room.LocalParticipant.PublishTrack(vt, &lksdk.TrackPublicationOptions{Name: "camera", Source: livekit.TrackSource_CAMERA}); err != nil {
			t.Fatal(err)
		}
		bctx, bcancel := context.WithCancel(ctx)
		defer bcancel()
		go func() {
			frame := make([]byte, 1000) // not a valid VP8 frame either: the kit must not care
			for clock.Sleep(bctx, 66*time.Millisecond) == nil {
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
		bob.Room.Disconnect()
		waitFor(t, ctx, "Bob's tile to go", func() bool { return len(kit.Tiles()) == 1 })
	})

	t.Run("mute stops the kit's audio", func(t *testing.T) {
		kit.SetMuted(true)
		waitFor(t, ctx, "the peer to see the kit muted", func() bool { audio, _ := ada.KitMuted(); return audio })
		// The kit's muted microphone frames are the clock: audio already on
		// its way arrives, however late, then the room's sound stays away.
		settle(t, ctx, "the kit's audio at the peer", func() int { return ada.Stats().AudioPackets },
			func() int { return int(kit.Stats().AudioFramesMuted) }, 25)
		sent, muted := kit.Stats().AudioFramesSent, kit.Stats().AudioFramesMuted
		mark := ada.Stats().Samples
		waitFor(t, ctx, "50 more muted frames", func() bool { return kit.Stats().AudioFramesMuted >= muted+50 })
		if n := kit.Stats().AudioFramesSent - sent; n != 0 {
			t.Errorf("%d microphone frames were sent while muted", n)
		}
		// LiveKit may send the peer a few silent frames of its own when a
		// track mutes; what must not arrive is the room's sound.
		heard := ada.Audio(ada.Stats().Samples - mark)
		if rms := meetingtest.RMS(heard); len(heard) > 0 && rms > 100 {
			t.Errorf("the peer heard RMS %.0f over %d samples while the kit was muted", rms, len(heard))
		}
		before := ada.Stats().AudioPackets
		kit.SetMuted(false)
		waitFor(t, ctx, "audio to resume after unmute", func() bool { return ada.Stats().AudioPackets > before+25 })
		waitFor(t, ctx, "the tone again after unmute", func() bool { return meetingtest.RMS(ada.Audio(9600)) > 1000 })
	})

	t.Run("camera off stops the kit's video", func(t *testing.T) {
		kit.SetCameraOff(true)
		sentBefore := kit.Stats().VideoFramesSent
		waitFor(t, ctx, "the peer to see the kit's camera off", func() bool { _, video := ada.KitMuted(); return video })
		// The camera's frames held back are the clock: frames already on
		// their way arrive, however late, then two seconds' worth in which
		// no new one may.
		heldBack := func() int { return int(kit.Stats().VideoFramesDropped) }
		settle(t, ctx, "the kit's video at the peer", func() int { return ada.Stats().VideoFrames }, heldBack, 30)
		before, mark := ada.Stats().VideoFrames, heldBack()
		waitFor(t, ctx, "60 more frames held back", func() bool { return heldBack() >= mark+60 })
		if after := ada.Stats().VideoFrames; after != before {
			t.Errorf("the peer received %d new video frames with the camera off", after-before)
		}
		if sent := kit.Stats().VideoFramesSent; sent > sentBefore+1 {
			t.Errorf("%d frames were written to the track with the camera off", sent-sentBefore)
		}
		picsBefore := ada.Stats().Pictures
		kit.SetCameraOff(false)
		waitFor(t, ctx, "video to resume", func() bool { return ada.Stats().Pictures > picsBefore+15 })
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
	})

	// LiveKit tells every participant to leave when it shuts down; the SDK
	// peer does not rejoin by itself (a browser's page would), so Ada joins
	// again as a browser would: here, not in a subtest, so that her
	// connection lasts until the kit leaves.
	ada.Room.Disconnect()
	ada = joinPeer(t, srv, room, "guest-ada")
	publish(t, ctx, ada)

	t.Run("media flows again after the restart", func(t *testing.T) {
		waitFor(t, ctx, "the peer to decode the kit's video again", func() bool { return ada.Stats().Pictures > 30 })
		waitFor(t, ctx, "the peer to hear the kit again", func() bool { return meetingtest.RMS(ada.Audio(9600)) > 1000 })
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
		waitFor(t, ctx, "the peer to see the kit leave", func() bool { return ada.Room.GetParticipantByIdentity("kit") == nil })
		if err := kit.Leave(); err != nil {
			t.Errorf("second Leave: %v", err)
		}
	})
}
