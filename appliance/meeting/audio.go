package meeting

import (
	"math"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"roomkit/appliance/meeting/codec"
	"roomkit/internal/clock"
)

const (
	frameDuration = 20 * time.Millisecond
	frameSamples  = codec.OpusFrameSamples // 960 at 48 kHz
	opusBitrate   = 32000                  // wideband speech with room to spare
)

var opusCapability = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

func (s *Session) startAudio() {
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.microphoneLoop()
	}()
	go func() {
		defer s.wg.Done()
		s.speakerLoop()
	}()
}

// microphoneLoop reads 20 ms frames until Leave and sends them as Opus,
// unless muted.
func (s *Session) microphoneLoop() {
	sp := s.cfg.Speakerphone
	enc, err := codec.NewOpusEncoder(opusBitrate)
	if err != nil {
		s.log.Error("microphone disabled", "err", err)
		return
	}
	defer enc.Close()
	buf := make([]int16, frameSamples)
	var start time.Time
	var n int64 // frames read, the media clock
	failing := false
	for {
		if err := sp.Read(s.ctx, buf); err != nil {
			if s.ctx.Err() != nil {
				return
			}
			if !failing {
				s.log.Warn("microphone read failed", "device", sp.Info().Name, "err", err)
				failing = true
			}
			if clock.Sleep(s.ctx, time.Second) != nil {
				return
			}
			start, n = time.Time{}, 0
			continue
		}
		failing = false
		if start.IsZero() {
			start = time.Now()
		}
		at := start.Add(time.Duration(n) * frameDuration)
		n++
		if s.muted.Load() {
			s.stats.audioMuted.Add(1)
			continue
		}
		pkt, err := enc.Encode(buf)
		if err != nil {
			s.log.Warn("opus encode", "err", err)
			continue
		}
		level := audioLevel(buf)
		track := s.audio.Load()
		if track == nil {
			continue
		}
		if err := track.WriteSample(media.Sample{Data: pkt, Duration: frameDuration, Timestamp: at},
			&lksdk.SampleWriteOptions{AudioLevel: &level}); err != nil {
			s.log.Debug("write audio sample", "err", err)
			continue
		}
		s.stats.audioSent.Add(1)
	}
}

// audioLevel is the RFC 6464 level of a frame: -dBov, 0 (loudest) to 127
// (silence). LiveKit picks the active speaker from it.
func audioLevel(pcm []int16) uint8 {
	var sum float64
	for _, v := range pcm {
		f := float64(v) / 32768
		sum += f * f
	}
	if sum == 0 {
		return 127
	}
	db := -10 * math.Log10(sum/float64(len(pcm)))
	return uint8(min(max(db, 0), 127))
}

// speakerLoop writes the mix of all remote audio to the speaker every 20 ms.
func (s *Session) speakerLoop() {
	sp := s.cfg.Speakerphone
	tick := time.NewTicker(frameDuration)
	defer tick.Stop()
	out := make([]int16, frameSamples)
	failing := false
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		if !s.mixer.mix(out) {
			continue // nobody is talking to us: leave the speaker alone
		}
		if err := sp.Write(s.ctx, out); err != nil {
			if s.ctx.Err() != nil {
				return
			}
			// An unplugged speaker fails every 20 ms while someone
			// talks; its driver status shows it, one line logs it.
			if !failing {
				s.log.Warn("speaker write failed", "device", sp.Info().Name, "err", err)
				failing = true
			}
			continue
		}
		if failing {
			s.log.Info("speaker is back", "device", sp.Info().Name)
			failing = false
		}
		s.stats.speaker.Add(1)
	}
}
