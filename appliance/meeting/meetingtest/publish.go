package meetingtest

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"roomkit/appliance/meeting/codec"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera/cameratest"
)

const (
	// publishFPS is Publish's frame rate; it sends a keyframe every
	// second, so a new viewer's decoder starts quickly.
	publishFPS = 15
	// toneHz is not the kit's synthetic microphone's 440 Hz, so a test
	// can tell whose sound it hears.
	toneHz = 660
)

var (
	h264 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	opus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
)

// Publish publishes a synthetic camera on room, cameratest's pattern as
// w×h H.264 at 15 frames a second, and, with audio, a 660 Hz tone as
// Opus, until ctx ends. An encoder failing later panics: the stream could
// not go on.
func Publish(ctx context.Context, room *lksdk.Room, w, h int, audio bool) error {
	vt, err := lksdk.NewLocalTrack(h264)
	if err != nil {
		return fmt.Errorf("video track: %w", err)
	}
	if _, err := room.LocalParticipant.PublishTrack(vt, &lksdk.TrackPublicationOptions{Name: "camera", Source: livekit.TrackSource_CAMERA, VideoWidth: w, VideoHeight: h}); err != nil {
		return fmt.Errorf("publish video: %w", err)
	}
	enc, err := codec.NewH264Encoder(codec.H264Options{Width: w, Height: h, FPS: publishFPS, Bitrate: w * h * 4, KeyframeInterval: publishFPS})
	if err != nil {
		return err
	}
	go func() {
		defer enc.Close()
		cam := cameratest.NewSynthetic(w, h, publishFPS)
		for {
			f, err := cam.Next(ctx)
			if err != nil {
				return
			}
			au, err := enc.Encode(f.Data)
			if err != nil {
				panic(fmt.Errorf("meetingtest: %w", err))
			}
			// An empty access unit (a skipped frame) sends nothing but
			// still moves the RTP clock on, keeping it in real time.
			vt.WriteSample(media.Sample{Data: au, Duration: time.Second / publishFPS}, nil)
		}
	}()
	if !audio {
		return nil
	}
	at, err := lksdk.NewLocalTrack(opus)
	if err != nil {
		return fmt.Errorf("audio track: %w", err)
	}
	if _, err := room.LocalParticipant.PublishTrack(at, &lksdk.TrackPublicationOptions{Name: "mic", Source: livekit.TrackSource_MICROPHONE}); err != nil {
		return fmt.Errorf("publish audio: %w", err)
	}
	aenc, err := codec.NewOpusEncoder(32000)
	if err != nil {
		return err
	}
	go func() {
		defer aenc.Close()
		sp := audiotest.NewSynthetic(toneHz)
		buf := make([]int16, codec.OpusFrameSamples)
		for {
			if err := sp.Read(ctx, buf); err != nil {
				return
			}
			pkt, err := aenc.Encode(buf)
			if err != nil {
				panic(fmt.Errorf("meetingtest: %w", err))
			}
			// A browser marks each packet with its level (RFC 6464, -dBov),
			// from which LiveKit picks the active speaker.
			level := uint8(min(max(-20*math.Log10(RMS(buf)/32768), 0), 127))
			at.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond}, &lksdk.SampleWriteOptions{AudioLevel: &level})
		}
	}()
	return nil
}
