package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"roomkit/appliance/meeting/codec"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera/cameratest"
)

var (
	h264 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	opus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
)

// publish sends the synthetic test pattern as w×h H.264 at 15 frames a
// second (a keyframe every second, so roomd's decoders start quickly) and,
// with audio, a 660 Hz tone as Opus, until ctx ends. It is the same
// publisher as systemtest's, which lives in a _test file.
func publish(ctx context.Context, room *lksdk.Room, w, h int, audio bool) error {
	vt, err := lksdk.NewLocalTrack(h264)
	if err != nil {
		return fmt.Errorf("video track: %w", err)
	}
	if _, err := room.LocalParticipant.PublishTrack(vt, &lksdk.TrackPublicationOptions{Name: "camera", Source: livekit.TrackSource_CAMERA, VideoWidth: w, VideoHeight: h}); err != nil {
		return fmt.Errorf("publish video: %w", err)
	}
	enc, err := codec.NewH264Encoder(codec.H264Options{Width: w, Height: h, FPS: 15, Bitrate: w * h * 4, KeyframeInterval: 15})
	if err != nil {
		return err
	}
	go func() {
		defer enc.Close()
		cam := cameratest.NewSynthetic(w, h, 15)
		for {
			f, err := cam.Next(ctx)
			if err != nil {
				return
			}
			au, err := enc.Encode(f.Data)
			if err != nil {
				log.Fatalf("meetingrss: %v", err)
			}
			if len(au) > 0 {
				vt.WriteSample(media.Sample{Data: au, Duration: time.Second / 15}, nil)
			}
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
		sp := audiotest.NewSynthetic(660)
		buf := make([]int16, codec.OpusFrameSamples)
		for {
			if err := sp.Read(ctx, buf); err != nil {
				return
			}
			pkt, err := aenc.Encode(buf)
			if err != nil {
				log.Fatalf("meetingrss: %v", err)
			}
			at.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond}, nil)
		}
	}()
	return nil
}
