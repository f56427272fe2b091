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

// videoLoop reads the camera until Leave: converts, encodes and writes each
// frame, unless the camera is off.
func (s *Session) videoLoop(enc *codec.H264Encoder) {
	cam := s.cfg.Camera
	info := cam.Info()
	frameTime := time.Second / 30
	if info.FPS > 0 {
		frameTime = time.Duration(float64(time.Second) / info.FPS)
	}
	var conv camera.Converter // YUYV and MJPEG cameras: to I420, reusing one buffer
	var start time.Time
	wasOff, failing := false, false
	for s.ctx.Err() == nil { // a camera that always has a frame ready must not outlive Leave
		f, err := cam.Next(s.ctx)
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
		if s.cameraOff.Load() {
			s.stats.videoDropped.Add(1)
			wasOff = true
			continue
		}
		if wasOff {
			// Viewers need a picture to start from after the pause.
			s.requestKeyframe()
			wasOff = false
		}
		au, err := s.encodeFrame(enc, info, f, &conv)
		if err != nil {
			s.stats.videoDropped.Add(1)
			s.log.Warn("camera frame dropped", "camera", info.Name, "err", err)
			continue
		}
		if len(au) == 0 {
			continue
		}
		s.steps.note(StepEncoded)
		track := s.video.Load()
		if track == nil {
			continue
		}
		if err := track.WriteSample(media.Sample{
			Data: au, Duration: frameTime, Timestamp: start.Add(f.Timestamp),
		}, nil); err != nil {
			// Between a connection loss and the republish the track has
			// nowhere to send; those frames are simply lost.
			s.log.Debug("write video sample", "err", err)
			continue
		}
		if s.steps.passed(StepDTLS) { // pion drops what is written before
			s.steps.note(StepSent)
		}
		s.stats.videoSent.Add(1)
		s.stats.videoBytes.Add(int64(len(au)))
	}
}

// encodeFrame turns one camera frame into an H.264 access unit: H.264
// cameras pass straight through, raw and JPEG frames are converted to I420
// and encoded.
func (s *Session) encodeFrame(enc *codec.H264Encoder, info camera.Info, f camera.Frame, conv *camera.Converter) ([]byte, error) {
	if info.Format == camera.H264 {
		return f.Data, nil
	}
	i420, err := conv.I420(f, info)
	if err != nil {
		return nil, err
	}
	return enc.Encode(i420)
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
			s.requestKeyframe()
		}
	})))
}
