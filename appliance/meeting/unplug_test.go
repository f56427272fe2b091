package meeting

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"roomkit/appliance/meeting/meetingtest"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera/cameratest"
)

// TestMeetingUnplugReplug is the drivers' promise in the middle of a
// meeting: an unplugged camera or speakerphone stops only its own media,
// the meeting and the other device go on, and plugging it back in brings
// its media back by itself, without leaving and joining again.
//
// The clock of every "nothing arrives" check is the other medium, which
// must keep flowing anyway: a second of it for packets already on their
// way, then two seconds in which none of the unplugged device's may come.
func TestMeetingUnplugReplug(t *testing.T) {
	if testing.Short() {
		t.Skip("starts livekit-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := meetingtest.StartLiveKit(t)
	const room = "555000111"

	// 640x480 at 15 fps, as the system tests' kit: big enough that the
	// test pattern's clock digits are unmistakable in a decoded picture.
	cam := cameratest.NewSynthetic(640, 480, 15)
	sp := audiotest.NewSynthetic(440)
	logs := newCountingHandler(testLogger(t).Handler())
	kit, err := Join(ctx, Config{
		URL: srv.URL, Token: meetingtest.Token(t, srv, room, "kit", "Board Room"),
		Camera: cam, Speakerphone: sp, Logger: slog.New(logs),
	})
	if err != nil {
		t.Fatalf("kit join: %v", err)
	}
	defer kit.Leave()
	ada := joinPeer(t, srv, room, "guest-ada")
	publish(t, ctx, ada) // her 660 Hz tone is what the kit's speaker should play

	hearsKit := func() (bool, string) {
		pcm := ada.Audio(9600)
		rms, hz := meetingtest.RMS(pcm), meetingtest.ZeroCrossingHz(pcm, 48000)
		return rms > 1000 && math.Abs(hz-440) < 15, fmt.Sprintf("RMS %.0f at %.0f Hz", rms, hz)
	}
	speakerPlaysAda := func() (bool, string) {
		peak, written := sp.Level()
		return peak > 2000, fmt.Sprintf("peak %d, %d samples written in all", peak, written)
	}
	waitFor(t, ctx, "the peer to decode 15 pictures from the kit", func() bool { return ada.Stats().Pictures >= 15 })
	waitForWhy(t, ctx, "the peer to hear the kit's 440 Hz tone", hearsKit)
	waitForWhy(t, ctx, "the kit's speaker to play the peer's tone", speakerPlaysAda)

	// audioFor waits for n more of the kit's audio packets at the peer.
	audioFor := func(what string, n int) {
		t.Helper()
		base := ada.Stats().AudioPackets
		waitFor(t, ctx, fmt.Sprintf("%d more audio packets (%s)", n, what), func() bool { return ada.Stats().AudioPackets >= base+n })
	}
	// videoFor waits for n more decoded pictures at the peer.
	videoFor := func(what string, n int) {
		t.Helper()
		base := ada.Stats().Pictures
		waitFor(t, ctx, fmt.Sprintf("%d more decoded pictures (%s)", n, what), func() bool { return ada.Stats().Pictures >= base+n })
	}
	stillConnected := func(when string) {
		t.Helper()
		if c := kit.Connection(); c != Connected {
			t.Errorf("%s the kit's meeting is %q, want %q", when, c, Connected)
		}
	}

	// The camera: video stops, audio goes on, video comes back.
	_, lastBefore := ada.Pictures()
	cam.Unplug()
	frames := func() int { return ada.Stats().VideoFrames }
	audioPackets := func() int { return ada.Stats().AudioPackets }
	settle(t, ctx, "the kit's video at the peer", frames, audioPackets, 50)
	videoFrames := frames()
	audioFor("the camera is unplugged", 100)
	if n := ada.Stats().VideoFrames - videoFrames; n != 0 {
		t.Errorf("the peer received %d new video frames from an unplugged camera", n)
	}
	waitForWhy(t, ctx, "the kit's tone with the camera unplugged", hearsKit)
	waitForWhy(t, ctx, "the peer's tone at the kit with the camera unplugged", speakerPlaysAda)
	stillConnected("with the camera unplugged")

	cam.Replug()
	videoFrames = ada.Stats().VideoFrames
	videoFor("the camera is plugged back in", 30)
	if ada.Stats().VideoFrames <= videoFrames {
		t.Error("pictures but no new video frames after the camera was plugged back in")
	}
	if _, last := ada.Pictures(); meetingtest.ChangedPixels(lastBefore, last, 480/40*12) < 50 {
		t.Error("the picture after the camera came back shows the same clock as before it was unplugged: video is frozen")
	}

	// The speakerphone: audio stops both ways, video goes on, both come
	// back.
	failedBefore := logs.count("speaker write failed")
	sp.Unplug()
	settle(t, ctx, "the kit's audio at the peer", audioPackets, func() int { return ada.Stats().Pictures }, 15)
	audioBefore := audioPackets()
	videoFor("the speakerphone is unplugged", 30)
	if n := audioPackets() - audioBefore; n != 0 {
		t.Errorf("the peer received %d audio packets from an unplugged speakerphone", n)
	}
	stillConnected("with the speakerphone unplugged")
	// The speaker fails every 20 ms while the peer talks: one line
	// says so, fifty a second would bury the kit's log.
	if n := logs.count("speaker write failed") - failedBefore; n > 3 {
		t.Errorf("an unplugged speaker was logged %d times in three seconds, want once", n)
	}

	sp.Replug()
	audioFor("the speakerphone is plugged back in", 25)
	waitForWhy(t, ctx, "the kit's 440 Hz tone at the peer again", hearsKit)
	waitForWhy(t, ctx, "the peer's tone at the kit's speaker again", speakerPlaysAda)
	videoFor("video goes on", 15)
	stillConnected("after both devices came back")

	// Leaving with both devices unplugged (roomctl leave, or the Leave
	// button, in a room whose cables were just pulled) must not wait for
	// them to come back.
	cam.Unplug()
	sp.Unplug()
	left := make(chan error, 1)
	go func() { left <- kit.Leave() }()
	select {
	case err := <-left:
		if err != nil {
			t.Errorf("leave with the camera and speakerphone unplugged: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("leave with the camera and speakerphone unplugged did not return")
	}
	if c := kit.Connection(); c != Disconnected {
		t.Errorf("after leaving, the kit's meeting is %q, want %q", c, Disconnected)
	}
}

// waitForWhy is waitFor whose condition also says what it saw, for the
// failure message.
func waitForWhy(t *testing.T, ctx context.Context, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s; last seen: %s", what, last)
		case <-tick.C:
		}
	}
}

// countingHandler counts log records by message, whatever their level,
// and passes on those its handler wants.
type countingHandler struct {
	slog.Handler
	mu *sync.Mutex
	n  map[string]int
}

func newCountingHandler(h slog.Handler) *countingHandler {
	return &countingHandler{Handler: h, mu: &sync.Mutex{}, n: map[string]int{}}
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	h.n[r.Message]++
	h.mu.Unlock()
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithAttrs(as), mu: h.mu, n: h.n}
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithGroup(name), mu: h.mu, n: h.n}
}

func (h *countingHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[msg]
}
