package meetingtest

import (
	"context"
	"image"
	"math"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
)

// TestParticipantRecordsPublisher has a Participant watch a publisher
// joined as "kit": what Publish sends must come out of the recorder as
// the pattern's moving pictures and a 660 Hz tone, or the tests built on
// the two would check nothing.
func TestParticipantRecordsPublisher(t *testing.T) {
	if testing.Short() {
		t.Skip("starts livekit-server")
	}
	lk := StartLiveKit(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const room = "123456789"

	watcher := Join(t, lk.URL, Token(t, lk, room, "guest-ada", "Ada"), "kit")
	kit, err := lksdk.ConnectToRoomWithToken(lk.URL, Token(t, lk, room, "kit", "Boardroom"), lksdk.NewRoomCallback())
	if err != nil {
		t.Fatal(err)
	}
	defer kit.Disconnect()
	if err := Publish(ctx, kit, 320, 240, true); err != nil {
		t.Fatal(err)
	}

	// Until 30 pictures and a second of audio are in, or the deadline.
	for s := watcher.Stats(); s.Pictures < 30 || s.Samples < 48000; s = watcher.Stats() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for 30 pictures and a second of audio: %+v", s)
		case <-time.After(20 * time.Millisecond):
		}
	}
	first, last := watcher.Pictures()
	if got := last.Rect.Size(); got != image.Pt(320, 240) {
		t.Fatalf("decoded %v pictures, want 320x240", got)
	}
	if err := CheckBars(last, 16); err != nil {
		t.Error(err)
	}
	// At 320x240 a clock segment is about 2x18 pixels, and two moments two
	// seconds apart may differ by a single segment: ask for half of one.
	if n := ChangedPixels(first, last, 240/40*12); n < 18 {
		t.Errorf("%d pixels of the clock changed between the first and the 30th picture: video is frozen", n)
	}
	pcm := watcher.Audio(48000)
	if hz := ZeroCrossingHz(pcm, 48000); math.Abs(hz-toneHz) > 15 {
		t.Errorf("heard %.0f Hz, want %d", hz, toneHz)
	}
	if audio, video := watcher.KitMuted(); audio || video {
		t.Errorf("KitMuted = %v, %v while both tracks are live", audio, video)
	}
	if _, ok := watcher.FirstVideo()["kit"]; !ok {
		t.Error("FirstVideo does not list the publisher's first packet")
	}
	if got := watcher.Audio(keptAudio + 1); got != nil {
		t.Errorf("Audio(%d) returned %d samples, more than are kept", keptAudio+1, len(got))
	}
}

// TestFrameCounter: a camera that is off must show no new frames, while
// LiveKit goes on probing the video track with padding and repeats.
func TestFrameCounter(t *testing.T) {
	pkt := func(ts uint32, payload int) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{Timestamp: ts}, Payload: make([]byte, payload)}
	}
	for _, tc := range []struct {
		name    string
		packets []*rtp.Packet
		frames  int
	}{
		{"one frame in three packets", []*rtp.Packet{pkt(3000, 1200), pkt(3000, 1200), pkt(3000, 400)}, 1},
		{"three frames", []*rtp.Packet{pkt(3000, 900), pkt(6000, 900), pkt(9000, 900)}, 3},
		{"padding-only probes", []*rtp.Packet{pkt(3000, 900), pkt(3000, 0), pkt(3000, 0), pkt(3000, 0)}, 1},
		{"retransmissions of older frames", []*rtp.Packet{pkt(3000, 900), pkt(6000, 900), pkt(3000, 900), pkt(6000, 900)}, 2},
		{"the timestamp wraps", []*rtp.Packet{pkt(0xffffe000, 900), pkt(0x00000bb8, 900), pkt(0xffffe000, 900)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c frameCounter
			n := 0
			for _, p := range tc.packets {
				if c.starts(p) {
					n++
				}
			}
			if n != tc.frames {
				t.Errorf("counted %d frames, want %d", n, tc.frames)
			}
		})
	}
}
