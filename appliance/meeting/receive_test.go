package meeting

import (
	"context"
	"image/color"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"roomkit/appliance/meeting/codec"
	"roomkit/drivers/camera/cameratest"
)

// fakeTrack hands out queued RTP packets, then io.EOF (the track ended).
type fakeTrack struct {
	mu   sync.Mutex
	pkts []*rtp.Packet
}

func (f *fakeTrack) ReadRTP() (*rtp.Packet, interceptor.Attributes, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pkts) == 0 {
		return nil, nil, io.EOF
	}
	p := f.pkts[0]
	f.pkts = f.pkts[1:]
	return p, nil, nil
}

func newTestSession() *Session {
	s := &Session{log: slog.New(slog.DiscardHandler), tracks: make(map[string]*remoteVideo), mixer: newMixer()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

func TestUndecodableCodecGetsPlaceholder(t *testing.T) {
	for _, mime := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeVP9, webrtc.MimeTypeAV1, "video/H265"} {
		t.Run(mime, func(t *testing.T) {
			s := newTestSession()
			garbage := &fakeTrack{}
			for i := range 50 {
				garbage.pkts = append(garbage.pkts, &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 3000)}, Payload: []byte{0x90, 0xe0, byte(i)}})
			}
			s.startVideoReceiver("TR_x", "guest-x", false, mime, garbage, func() {})
			s.wg.Wait() // the receiver drains the track to its end without crashing
			frame, placeholder := s.tracks["TR_x"].picture()
			if frame != nil {
				t.Fatal("a picture from a codec the kit cannot decode")
			}
			name := strings.TrimPrefix(strings.ToUpper(mime), "VIDEO/")
			if !strings.Contains(placeholder, name) {
				t.Errorf("placeholder %q does not name %s", placeholder, name)
			}
		})
	}
}

// h264Packets encodes n frames of the test pattern and packetizes them as
// an SFU would forward them.
func h264Packets(t testing.TB, w, h, n int) []*rtp.Packet {
	enc, err := codec.NewH264Encoder(codec.H264Options{Width: w, Height: h, FPS: 30, Bitrate: 500_000, KeyframeInterval: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	pz := rtp.NewPacketizer(1200, 96, 1234, &codecs.H264Payloader{}, rtp.NewFixedSequencer(1), 90000)
	buf := make([]byte, w*h*3/2)
	var pkts []*rtp.Packet
	for i := range n {
		cameratest.Draw(buf, w, h, i, time.Now())
		au, err := enc.Encode(buf)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, pz.Packetize(au, 3000)...)
	}
	return pkts
}

func TestH264TrackShowsPicture(t *testing.T) {
	s := newTestSession()
	tr := &fakeTrack{pkts: h264Packets(t, 320, 240, 10)}
	plis := 0
	s.startVideoReceiver("TR_v", "guest-v", false, webrtc.MimeTypeH264, tr, func() { plis++ })
	s.wg.Wait()
	frame, placeholder := s.tracks["TR_v"].picture()
	if frame == nil {
		t.Fatalf("no picture, placeholder %q", placeholder)
	}
	if frame.Rect.Dx() != 320 || frame.Rect.Dy() != 240 {
		t.Errorf("picture is %v, want 320x240", frame.Rect)
	}
	// The white bar on the left, below the clock band.
	if c := color.RGBAModel.Convert(frame.At(10, 120)).(color.RGBA); c.R < 160 || c.G < 160 || c.B < 160 {
		t.Errorf("left bar is %v, want white", c)
	}
	if plis != 0 {
		t.Errorf("%d keyframe requests for a clean stream", plis)
	}
	if again, _ := s.tracks["TR_v"].picture(); again != frame {
		t.Error("the same picture was handed out as two images")
	}
}

func TestH264LossAsksForKeyframe(t *testing.T) {
	s := newTestSession()
	pkts := h264Packets(t, 640, 480, 30)
	// Lose one packet in the middle: the frames after it refer to a
	// picture the kit does not have.
	lost := len(pkts) / 2
	lossy := append(append([]*rtp.Packet{}, pkts[:lost]...), pkts[lost+1:]...)
	plis := 0
	s.startVideoReceiver("TR_v", "guest-v", false, webrtc.MimeTypeH264, &fakeTrack{pkts: lossy}, func() { plis++ })
	s.wg.Wait()
	if plis == 0 {
		t.Error("no keyframe request after a lost packet: the picture would stay broken until the next keyframe")
	}
	if frame, _ := s.tracks["TR_v"].picture(); frame == nil {
		t.Error("the pictures before the loss were not shown")
	}
}

func TestOpusTrackReachesMixer(t *testing.T) {
	s := newTestSession()
	enc, err := codec.NewOpusEncoder(32000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	tr := &fakeTrack{}
	frame := make([]int16, frameSamples)
	phase := 0.0
	for i := range 10 {
		for j := range frame {
			frame[j] = int16(8000 * math.Sin(phase))
			phase += 2 * math.Pi * 300 / 48000
		}
		pkt, err := enc.Encode(frame)
		if err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			continue // lost: concealed
		}
		tr.pkts = append(tr.pkts, &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(100 + i)}, Payload: append([]byte(nil), pkt...)})
	}
	tr.pkts = append(tr.pkts, tr.pkts[2]) // a late duplicate is ignored
	// Keep the source in the mixer after the track ends by reading it directly.
	s.decodeAudio("TR_a", tr)
	out := make([]int16, frameSamples)
	frames := 0
	for s.mixer.mix(out) {
		frames++
	}
	if frames != 10 {
		t.Errorf("mixed %d frames from 9 packets and one loss, want 10", frames)
	}
	if got := s.Stats().AudioFramesDecoded; got != 9 {
		t.Errorf("decoded %d frames, want 9", got)
	}
}

func TestMixer(t *testing.T) {
	m := newMixer()
	out := make([]int16, frameSamples)
	if m.mix(out) {
		t.Fatal("an empty mixer produced sound")
	}
	fill := func(v int16, frames int) []int16 {
		b := make([]int16, frames*frameSamples)
		for i := range b {
			b[i] = v
		}
		return b
	}
	m.push("a", fill(1000, 2))
	if m.mix(out) {
		t.Error("a source played before it had buffered enough against jitter")
	}
	m.push("a", fill(1000, 2))
	m.push("b", fill(32000, 4))
	if !m.mix(out) || out[0] != math.MaxInt16 {
		t.Errorf("1000 + 32000 mixed to %d, want clipped to %d", out[0], math.MaxInt16)
	}
	m.remove("b")
	if !m.mix(out) || out[0] != 1000 {
		t.Errorf("after removing b the mix is %d, want 1000", out[0])
	}
	m.push("c", fill(5, 30))
	if got := len(m.src["c"].buf); got != mixMax {
		t.Errorf("source holds %d samples, want at most %d (bounded delay)", got, mixMax)
	}
}

func TestAudioLevel(t *testing.T) {
	tone := make([]int16, frameSamples)
	for i := range tone {
		tone[i] = int16(8192 * math.Sin(2*math.Pi*440*float64(i)/48000))
	}
	for _, tc := range []struct {
		name     string
		pcm      []int16
		min, max uint8
	}{
		{"silence", make([]int16, frameSamples), 127, 127},
		{"-12 dBFS tone", tone, 14, 16}, // RMS of a sine is 3 dB below its peak
	} {
		if got := audioLevel(tc.pcm); got < tc.min || got > tc.max {
			t.Errorf("%s: level %d, want %d..%d", tc.name, got, tc.min, tc.max)
		}
	}
}
