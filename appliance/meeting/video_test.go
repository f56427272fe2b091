package meeting

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"roomkit/drivers"
	"roomkit/drivers/camera"
	"roomkit/drivers/camera/cameratest"
)

// TestKeyframeWithoutWaitingForTheCamera: when the publishing connection
// comes up, the kit sends the keyframe it encoded last (until then every
// frame is one); when it comes up again, or the SFU asks for a keyframe
// (PLI, FIR), the kit makes one from the last picture at once. The
// camera's next frame, up to a frame time away, is waited for in none of
// these; the keyframe takes its place, so the RTP clock stays the
// camera's. With the camera off nothing is sent.
func TestKeyframeWithoutWaitingForTheCamera(t *testing.T) {
	for _, tc := range []struct {
		name string
		ask  func(s *Session, sink *trackSink)
	}{
		{"the publishing connection comes up again", func(s *Session, _ *trackSink) { s.keyframeNow() }},
		{"the SFU sends a PLI", func(_ *Session, sink *trackSink) {
			sink.sendRTCP(t, &rtcp.PictureLossIndication{MediaSSRC: sinkSSRC})
		}},
		{"the SFU sends a FIR", func(_ *Session, sink *trackSink) {
			sink.sendRTCP(t, &rtcp.FullIntraRequest{MediaSSRC: sinkSSRC, FIR: []rtcp.FIREntry{{SSRC: sinkSSRC}}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cam, sink, s := startVideoTest(t)
			cam.frame()
			first := sink.nextFrame(t) // written before the connection is up: pion drops it
			if !first.idr {
				t.Fatal("the first frame is not a keyframe")
			}
			s.keyframeNow()
			// The camera gives no frame: the first one's keyframe goes
			// out again, in the next frame's place.
			up := sink.nextFrame(t)
			if !up.idr || !oneFrameOn(up, first) {
				t.Fatalf("as the connection came up the kit sent a frame %d ticks after the first (keyframe %v), want the first's keyframe a frame time on", up.ts-first.ts, up.idr)
			}
			cam.frame() // its place was taken: dropped
			cam.frame()
			second := sink.nextFrame(t)
			if second.idr || !oneFrameOn(second, up) {
				t.Fatalf("the next frame is %d ticks after the keyframe (keyframe %v), want a frame time and no keyframe", second.ts-up.ts, second.idr)
			}
			tc.ask(s, sink)
			kf := sink.nextFrame(t)
			if !kf.idr || !oneFrameOn(kf, second) {
				t.Errorf("the answer is %d ticks after the last frame (keyframe %v), want a keyframe a frame time on", kf.ts-second.ts, kf.idr)
			}
			cam.frame() // its place was taken
			cam.frame()
			if next := sink.nextFrame(t); !oneFrameOn(next, kf) {
				t.Errorf("the camera's next frame is %d ticks after the keyframe, want a frame time: the RTP clock must not run ahead", next.ts-kf.ts)
			}
		})
	}
	t.Run("camera off", func(t *testing.T) {
		cam, sink, s := startVideoTest(t)
		cam.frame()
		first := sink.nextFrame(t)
		s.SetCameraOff(true)
		s.keyframeNow()
		cam.frame() // dropped: the camera is off
		cam.frame() // returns once the loop is done with the one before
		s.SetCameraOff(false)
		cam.frame()
		// The next frame written is one taken after the first two frame
		// times, not the keyframe of the picture from before the pause.
		if next := sink.nextFrame(t); next.ts-first.ts < 5000 {
			t.Errorf("after the pause the kit sent a frame stamped %d ticks after the first, want the new frame's", next.ts-first.ts)
		}
	})
}

// oneFrameOn reports whether b is stamped a frame time (1/30 s, 3000 ticks
// of 90 kHz) after a.
func oneFrameOn(b, a sentFrame) bool {
	d := int64(b.ts - a.ts)
	return d >= 2998 && d <= 3002
}

// startVideoTest starts a session's video loop alone, with a camera the
// test steps and a video track bound to a sink instead of a connection.
func startVideoTest(t *testing.T) (*stepCamera, *trackSink, *Session) {
	t.Helper()
	cam := &stepCamera{next: make(chan struct{}), buf: make([]byte, 320*240*3/2)}
	s := &Session{
		cfg: Config{Camera: cam, VideoBitrate: 5_000_000}, log: slog.New(slog.DiscardHandler),
		connectedKeyframe: make(chan struct{}, 1), askedKeyframe: make(chan struct{}, 1),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	startVideo, err := s.prepareVideo()
	if err != nil {
		t.Fatal(err)
	}
	track, err := s.newVideoTrack()
	if err != nil {
		t.Fatal(err)
	}
	sink := &trackSink{packets: make(chan *rtp.Packet, 1024), rtcp: make(chan []byte)}
	if _, err := track.Bind(sink); err != nil {
		t.Fatal(err)
	}
	s.video.Store(track)
	startVideo()
	t.Cleanup(func() {
		s.cancel()
		s.wg.Wait()
		close(sink.rtcp)
	})
	return cam, sink, s
}

// (The bitrate is high for the size so that rate control skips no frame:
// the test waits for each.)

// stepCamera is a 320×240 I420 camera whose Next returns a frame each
// time the test calls frame, 30 frames/s in its timestamps.
type stepCamera struct {
	next chan struct{}
	buf  []byte
	n    int
}

func (c *stepCamera) frame() { c.next <- struct{}{} }

func (c *stepCamera) Info() camera.Info {
	return camera.Info{Name: "step", Format: camera.I420, Width: 320, Height: 240, FPS: 30}
}

func (c *stepCamera) Next(ctx context.Context) (camera.Frame, error) {
	select {
	case <-c.next:
	case <-ctx.Done():
		return camera.Frame{}, ctx.Err()
	}
	cameratest.Draw(c.buf, 320, 240, c.n, time.Time{})
	f := camera.Frame{Data: c.buf, Timestamp: time.Duration(c.n) * time.Second / 30}
	c.n++
	return f, nil
}

func (c *stepCamera) RequestKeyframe()       {}
func (c *stepCamera) Status() drivers.Status { return drivers.Status{Kind: "camera", Present: true} }
func (c *stepCamera) Close() error           { return nil }

const sinkSSRC = 1234

// trackSink stands for pion's RTP sender: it binds a track, keeps what is
// written to it, and hands it RTCP as the SFU would send it.
type trackSink struct {
	packets chan *rtp.Packet
	rtcp    chan []byte
}

// sentFrame is one access unit as the sink received it.
type sentFrame struct {
	ts  uint32 // RTP timestamp
	idr bool   // holds an IDR slice
}

// nextFrame waits for the packets of the next access unit (up to the one
// with the marker bit).
func (k *trackSink) nextFrame(t *testing.T) sentFrame {
	t.Helper()
	var f sentFrame
	for {
		select {
		case p := <-k.packets:
			f.ts = p.Timestamp
			f.idr = f.idr || hasIDR(p.Payload)
			if p.Marker {
				return f
			}
		case <-time.After(20 * time.Second): // a hang's bound, not a measure
			t.Fatal("no frame written for 20 s")
		}
	}
}

func (k *trackSink) sendRTCP(t *testing.T, p rtcp.Packet) {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	k.rtcp <- b
}

// hasIDR reports whether an H.264 RTP payload (a NAL unit, STAP-A or the
// first FU-A fragment) holds an IDR slice (type 5).
func hasIDR(payload []byte) bool {
	if len(payload) < 2 {
		return false
	}
	switch payload[0] & 0x1f {
	case 5:
		return true
	case 28: // FU-A
		return payload[1]&0x80 != 0 && payload[1]&0x1f == 5
	case 24: // STAP-A: 16-bit sizes, then the units
		for b := payload[1:]; len(b) > 2; {
			n := int(b[0])<<8 | int(b[1])
			if n == 0 || len(b) < 2+n {
				return false
			}
			if b[2]&0x1f == 5 {
				return true
			}
			b = b[2+n:]
		}
	}
	return false
}

func (k *trackSink) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{{RTPCodecCapability: h264Capability, PayloadType: 102}}
}
func (k *trackSink) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (k *trackSink) SSRC() webrtc.SSRC                                      { return sinkSSRC }
func (k *trackSink) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (k *trackSink) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (k *trackSink) WriteStream() webrtc.TrackLocalWriter                   { return k }
func (k *trackSink) ID() string                                             { return "sink" }
func (k *trackSink) RTCPReader() interceptor.RTCPReader                     { return k }

func (k *trackSink) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	k.packets <- &rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)}
	return len(payload), nil
}

func (k *trackSink) Write(b []byte) (int, error) {
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		return 0, err
	}
	return k.WriteRTP(&p.Header, p.Payload)
}

// Read hands the track's RTCP reader what sendRTCP sends; it ends (the
// pipe closed) when the test does.
func (k *trackSink) Read(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	p, ok := <-k.rtcp
	if !ok {
		return 0, a, context.Canceled
	}
	return copy(b, p), a, nil
}
