package meeting

import (
	"fmt"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"roomkit/appliance/meeting/codec"
	"roomkit/drivers/camera"
	"roomkit/internal/clock"
)

// h264Capability is what the kit publishes: constrained baseline, packetization
// mode 1, the profile every browser and openh264 agree on.
var h264Capability = webrtc.RTPCodecCapability{
	MimeType:    webrtc.MimeTypeH264,
	ClockRate:   90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	RTCPFeedback: []webrtc.RTCPFeedback{
		{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"},
	},
}

// keyframeInterval bounds how long a viewer that lost a packet (and whose
// PLI got lost too) waits for a picture: two seconds at 30 fps.
const keyframeInterval = 60

// encoderThreads is how many threads encode the camera. openh264 would take
// one per CPU, up to four, and each costs memory of its own (slice and
// bitstream buffers): four held 8 MB more than one in the 6-video meeting
// (docs/benchmarks.md, Memory), and one encodes a 720p frame in ~6 ms here.
const encoderThreads = 1

// prepareVideo makes the encoder and returns the function that starts the
// capture loop once the track is published.
func (s *Session) prepareVideo() (func(), error) {
	info := s.cfg.Camera.Info()
	var enc *codec.H264Encoder
	if info.Format != camera.H264 {
		var err error
		enc, err = codec.NewH264Encoder(codec.H264Options{
			Width: info.Width, Height: info.Height, FPS: info.FPS,
			Bitrate: s.cfg.VideoBitrate, KeyframeInterval: keyframeInterval,
			Threads: encoderThreads,
		})
		if err != nil {
			return nil, fmt.Errorf("camera %s: %w", info.Name, err)
		}
		s.keyframe = enc.RequestKeyframe
	} else {
		// An H.264 camera makes its own IDR frames on request.
		s.keyframe = s.cfg.Camera.RequestKeyframe
	}
	return func() {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if enc != nil {
				defer enc.Close()
			}
			s.videoLoop(enc)
		}()
	}, nil
}

// keyframeAnswerInterval bounds how often the video loop answers a
// keyframe request with an extra encode of the last picture (video.go's
// keyframe); requests closer together wait for the next camera frame, as
// they all did before. LiveKit asks a publisher again at most every 200 ms
// per subscriber (pkg/sfu/downtrack.go keyFrameIntervalMin), and an SFU
// that asked without pause must not double the encoder's work.
const keyframeAnswerInterval = 200 * time.Millisecond

// cameraRead is one result of the camera's Next.
type cameraRead struct {
	f   camera.Frame
	err error
}

// picture is the last camera picture the video loop encoded, kept so a
// keyframe can be made from it at once instead of from the next frame
// (up to a frame time later: 33 ms at a kit's 30 frames/s).
type picture struct {
	i420 []byte        // nil until the first frame; not the camera's buffer
	at   time.Duration // its capture time, since the camera started
	own  []byte        // the copy of a pass-through I420 frame
}

// keep remembers i420, the picture of frame f. A YUYV or MJPEG frame was
// converted into the loop's own buffer, which only the loop overwrites;
// an I420 frame is the camera's buffer, which the camera reuses while the
// loop waits, so it is copied.
func (p *picture) keep(i420 []byte, f camera.Frame) {
	if len(f.Data) > 0 && len(i420) > 0 && &i420[0] == &f.Data[0] {
		p.own = append(p.own[:0], i420...)
		i420 = p.own
	}
	p.i420, p.at = i420, f.Timestamp
}

// videoLoop reads the camera until Leave: converts, encodes and writes each
// frame, unless the camera is off. Between frames it sends a keyframe
// right away when the publishing connection comes up (what was written
// before never left the kit: the keyframe kept from then, or the last
// picture encoded again) and when the SFU asks (a new subscriber). A
// viewer's first picture then waits for neither the camera's next frame
// nor, at the SFU, a second subscription round (see docs/benchmarks.md,
// Tap → media).
func (s *Session) videoLoop(enc *codec.H264Encoder) {
	cam := s.cfg.Camera
	info := cam.Info()
	frameTime := time.Second / 30
	if info.FPS > 0 {
		frameTime = time.Duration(float64(time.Second) / info.FPS)
	}
	// The camera is read on its own goroutine so the loop can answer a
	// keyframe request while it waits for a frame. The reader asks for
	// the next frame only once the loop is done with the last (a frame is
	// only valid until then), and ends before the loop returns, so the
	// camera is never read after Leave.
	reads, more := make(chan cameraRead), make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			f, err := cam.Next(s.ctx)
			select {
			case reads <- cameraRead{f, err}:
			case <-s.ctx.Done():
				return
			}
			select {
			case <-more:
			case <-s.ctx.Done():
				return
			}
		}
	}()
	defer func() { <-readerDone }()
	release := func() {
		select {
		case more <- struct{}{}:
		case <-s.ctx.Done():
		}
	}

	var conv camera.Converter // YUYV and MJPEG cameras: to I420, reusing one buffer
	var start time.Time
	var last picture
	var written time.Duration // the time of the last sample written
	var dropTo time.Duration  // camera frames up to this time are dropped (extra)
	var answered time.Time    // when a keyframe request was last answered at once
	// Until the publishing connection is first up, every frame is
	// encoded as a keyframe and the last one is kept (early): what is
	// written before never leaves the kit, and the moment it is up the
	// kept one goes out as it is, with no encoding on the way. That
	// moment counts: LiveKit makes the kit's video track from its first
	// packet, the microphone's from the SDP as the connection comes up
	// (livekit-server v1.13.5 pkg/rtc/participant.go:2285-2318, for Go
	// SDK clients), and offers both to a subscriber together only if the
	// video's comes within its 10 ms negotiation debounce; otherwise the
	// video waits for the next offer, 150 ms later (pkg/rtc/transport.go
	// 75-76, 1983-1987). Bounded to a second of frames (earlyLeft), in
	// case the SDK's word that the connection is up never comes (sdkLog).
	up, early := false, []byte(nil)
	earlyLeft := int(time.Second / frameTime)
	wasOff, failing := false, false
	write := func(au []byte, at time.Duration) bool {
		track := s.video.Load()
		if track == nil {
			return false
		}
		if err := track.WriteSample(media.Sample{
			Data: au, Duration: frameTime, Timestamp: start.Add(at),
		}, nil); err != nil {
			// Between a connection loss and the republish the track has
			// nowhere to send; those frames are simply lost.
			s.log.Debug("write video sample", "err", err)
			return false
		}
		written = at
		if s.steps.passed(StepDTLS) { // pion drops what is written before
			s.steps.note(StepSent)
		}
		s.stats.videoSent.Add(1)
		s.stats.videoBytes.Add(int64(len(au)))
		return true
	}
	// extra writes a keyframe made between camera frames. It takes the
	// next frame's place, whose camera frame is dropped: the SDK stamps
	// each sample at least a frame time (its Duration) after the one
	// before (server-sdk-go v2.18.1 localtrack.go:497-510), so a sample
	// squeezed in between would push every later frame's RTP time one
	// frame on, for good. The encoder does no more work than before.
	extra := func(au []byte) bool {
		at := written + frameTime
		if !write(au, at) {
			return false
		}
		dropTo = at + frameTime/2
		return true
	}
	// keyframe encodes the last picture again as a keyframe and writes it
	// now, or, when that cannot be done (an H.264 camera, no picture yet,
	// a track being replaced), asks for the next frame to be one.
	keyframe := func() {
		if enc == nil || last.i420 == nil || s.cameraOff.Load() || s.video.Load() == nil {
			s.requestKeyframe()
			return
		}
		enc.RequestKeyframe()
		au, err := enc.Encode(last.i420)
		if err != nil || len(au) == 0 { // rate control may skip it
			s.requestKeyframe()
			return
		}
		extra(au)
	}
	for {
		var r cameraRead
		select {
		case <-s.ctx.Done():
			return
		case <-s.connectedKeyframe:
			if !up && early != nil && !s.cameraOff.Load() && extra(early) {
				up, early = true, nil
				continue
			}
			up, early = true, nil
			keyframe()
			continue
		case <-s.askedKeyframe:
			if time.Since(answered) < keyframeAnswerInterval {
				s.requestKeyframe()
				continue
			}
			answered = time.Now()
			keyframe()
			continue
		case r = <-reads:
		}
		f, err := r.f, r.err
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			// An unplugged camera is shown by its driver status; keep
			// trying so a replugged camera comes back by itself.
			if !failing {
				s.log.Warn("camera read failed", "camera", info.Name, "err", err)
				failing = true
			}
			if clock.Sleep(s.ctx, time.Second) != nil {
				return
			}
			release()
			continue
		}
		if failing {
			s.log.Info("camera is back", "camera", info.Name)
			failing = false
			s.requestKeyframe()
		}
		s.stats.videoCaptured.Add(1)
		s.steps.note(StepCamera)
		if start.IsZero() {
			start = time.Now().Add(-f.Timestamp)
		}
		// Dropped if an extra keyframe took its place (a camera whose clock
		// started again, replugged, is not held back).
		if dropTo > 0 && f.Timestamp <= dropTo && f.Timestamp > dropTo-2*frameTime {
			release()
			continue
		}
		if s.cameraOff.Load() {
			s.stats.videoDropped.Add(1)
			wasOff = true
			last = picture{own: last.own} // nothing of before the pause is sent after it
			early = nil
			release()
			continue
		}
		if wasOff {
			// Viewers need a picture to start from after the pause.
			s.requestKeyframe()
			wasOff = false
		}
		if !up && enc != nil {
			if earlyLeft--; earlyLeft <= 0 {
				up, early = true, nil
			} else {
				enc.RequestKeyframe()
			}
		}
		au, err := s.encodeFrame(enc, info, f, &conv, &last)
		if err != nil {
			release()
			s.stats.videoDropped.Add(1)
			s.log.Warn("camera frame dropped", "camera", info.Name, "err", err)
			continue
		}
		if len(au) > 0 {
			s.steps.note(StepEncoded)
			if !up && enc != nil {
				early = append(early[:0], au...)
			}
			write(au, f.Timestamp)
		}
		release() // only now: an H.264 camera's frame is what was written
	}
}

// encodeFrame turns one camera frame into an H.264 access unit: H.264
// cameras pass straight through, raw and JPEG frames are converted to I420
// and encoded; last keeps the picture for a keyframe on request.
func (s *Session) encodeFrame(enc *codec.H264Encoder, info camera.Info, f camera.Frame, conv *camera.Converter, last *picture) ([]byte, error) {
	if info.Format == camera.H264 {
		return f.Data, nil
	}
	i420, err := conv.I420(f, info)
	if err != nil {
		last.i420 = nil // a failed conversion may have half overwritten it
		return nil, err
	}
	last.keep(i420, f)
	return enc.Encode(last.i420)
}

// newVideoTrack makes a video track: an lksdk.LocalTrack, which is pion's
// TrackLocalStaticSample plus an RTCP callback, which the kit needs to
// answer the SFU's keyframe requests (PLI, FIR).
func (s *Session) newVideoTrack() (*lksdk.LocalTrack, error) {
	return lksdk.NewLocalTrack(h264Capability, lksdk.WithRTCPHandler(s.feedbackHandler(func(p rtcp.Packet) {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			s.steps.note(StepAsked)
			s.stats.keyframeReqs.Add(1)
			signal(s.askedKeyframe)
		}
	})))
}

// keyframeNow tells the video loop the publishing connection is up: what
// was written before never left the kit, so a keyframe is sent at once.
func (s *Session) keyframeNow() { signal(s.connectedKeyframe) }

// signal wakes the video loop through a channel of one slot; a wake-up
// already pending is enough.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
