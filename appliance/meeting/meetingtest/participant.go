package meetingtest

import (
	"errors"
	"fmt"
	"image"
	"maps"
	"sync"
	"testing"
	"time"

	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
	"go.uber.org/zap"

	"roomkit/appliance/meeting/codec"
)

// keptAudio is how much of the kit's decoded audio a Participant keeps:
// enough for a second's analysis after a few seconds of muting.
const keptAudio = 5 * codec.OpusSampleRate

// Participant is a second participant on the LiveKit Go SDK, standing in
// for a browser: it subscribes to the kit's video and audio, decodes them
// as a browser would and records what it got. It can publish media of its
// own on Room (see Publish).
type Participant struct {
	// Room is the SDK's room: to publish on, look participants up in, or
	// disconnect from before joining again.
	Room *lksdk.Room

	kit string // the kit's identity

	mu           sync.Mutex
	stats        Stats
	first        *image.YCbCr
	last         *image.YCbCr
	pcm          []int16 // the last keptAudio samples of the kit's audio
	audioPub     *lksdk.RemoteTrackPublication
	videoPub     *lksdk.RemoteTrackPublication
	firstVideo   map[string]time.Time // by identity
	subscribedAt map[string]time.Time // when each one's video was subscribed
	frames       frameCounter         // the kit's video frames
}

// Stats counts what a Participant has received from the kit.
type Stats struct {
	Pictures     int // decoded video pictures
	VideoPackets int // every packet on the video track, LiveKit's probes included
	// VideoFrames counts the kit's video frames: packets that carry media
	// with a timestamp later than any before. LiveKit's bandwidth probes
	// (padding, or retransmissions of packets already sent) arrive on the
	// video track even while the camera is off, so "no new frames", not
	// "no packets", is what a camera that is off must show.
	VideoFrames  int
	AudioPackets int
	Samples      int // decoded audio samples (48 kHz mono)
}

// Join connects a Participant to LiveKit at url with token and disconnects
// it when t ends (a subtest's t: when the subtest ends). kit is the
// identity whose media it decodes and records; of everyone else it only
// notes when their video starts (see FirstVideo).
func Join(t testing.TB, url, token, kit string) *Participant {
	t.Helper()
	p := &Participant{kit: kit, firstVideo: map[string]time.Time{}, subscribedAt: map[string]time.Time{}}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = p.subscribed
	r, err := lksdk.ConnectToRoomWithToken(url, token, cb, lksdk.WithLogger(quietLogger(t)))
	if err != nil {
		t.Fatalf("participant join: %v", err)
	}
	p.Room = r
	t.Cleanup(r.Disconnect)
	return p
}

func (p *Participant) subscribed(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	identity := rp.Identity()
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		p.mu.Lock()
		if _, ok := p.subscribedAt[identity]; !ok {
			p.subscribedAt[identity] = time.Now()
		}
		p.mu.Unlock()
	}
	switch {
	case identity != p.kit && track.Kind() == webrtc.RTPCodecTypeVideo:
		go p.watchVideo(identity, track)
	case identity != p.kit:
	case track.Kind() == webrtc.RTPCodecTypeVideo:
		p.mu.Lock()
		p.videoPub = pub
		p.mu.Unlock()
		go p.readVideo(track, func() { rp.WritePLI(track.SSRC()) })
	case track.Kind() == webrtc.RTPCodecTypeAudio:
		p.mu.Lock()
		p.audioPub = pub
		p.mu.Unlock()
		go p.readAudio(track)
	}
}

// videoPacket notes a video packet from identity.
func (p *Participant) videoPacket(identity string, pkt *rtp.Packet) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.firstVideo[identity]; !ok {
		p.firstVideo[identity] = time.Now()
	}
	if identity == p.kit {
		p.stats.VideoPackets++
		if p.frames.starts(pkt) {
			p.stats.VideoFrames++
		}
	}
}

// frameCounter tells new video frames from repeats and padding.
type frameCounter struct {
	last uint32 // the latest RTP timestamp seen
	seen bool
}

// starts says whether pkt begins a frame not seen before: it carries a
// payload and its timestamp is later (in RTP's wrapping arithmetic) than
// every earlier one.
func (c *frameCounter) starts(pkt *rtp.Packet) bool {
	if len(pkt.Payload) == 0 || (c.seen && int32(pkt.Timestamp-c.last) <= 0) {
		return false
	}
	c.last, c.seen = pkt.Timestamp, true
	return true
}

// watchVideo drains another participant's video, noting when it starts.
func (p *Participant) watchVideo(identity string, track *webrtc.TrackRemote) {
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		p.videoPacket(identity, pkt)
	}
}

// readVideo decodes the kit's video until the track ends, asking for a
// keyframe (pli) at the start and whenever a picture does not decode, as a
// browser does.
func (p *Participant) readVideo(track *webrtc.TrackRemote, pli func()) {
	dec, err := codec.NewH264Decoder()
	if err != nil {
		panic(fmt.Errorf("meetingtest: %w", err))
	}
	defer dec.Close()
	sb := samplebuilder.New(512, &codecs.H264Packet{}, 90000)
	pli()
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		p.videoPacket(p.kit, pkt)
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			pic, err := dec.Decode(s.Data, nil)
			if err != nil {
				if !errors.Is(err, codec.ErrNoPicture) {
					pli()
				}
				continue
			}
			p.mu.Lock()
			if p.first == nil {
				p.first = pic
			}
			p.last = pic
			p.stats.Pictures++
			p.mu.Unlock()
		}
	}
}

// readAudio decodes the kit's audio until the track ends.
func (p *Participant) readAudio(track *webrtc.TrackRemote) {
	dec, err := codec.NewOpusDecoder()
	if err != nil {
		panic(fmt.Errorf("meetingtest: %w", err))
	}
	defer dec.Close()
	pcm := make([]int16, 5760) // 120 ms, Opus's longest packet
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		n, err := dec.Decode(pkt.Payload, pcm)
		p.mu.Lock()
		p.stats.AudioPackets++
		if err == nil {
			p.pcm = append(p.pcm, pcm[:n]...)
			p.stats.Samples += n
			if over := len(p.pcm) - keptAudio; over > 0 {
				p.pcm = append(p.pcm[:0], p.pcm[over:]...)
			}
		}
		p.mu.Unlock()
	}
}

// Stats returns what the Participant has received from the kit so far.
func (p *Participant) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Pictures returns the first and the latest picture decoded from the
// kit's video; nil before the first.
func (p *Participant) Pictures() (first, last *image.YCbCr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.first, p.last
}

// Audio returns a copy of the last n samples of the kit's decoded audio,
// or nil while fewer are kept (the last five seconds are).
func (p *Participant) Audio(n int) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n < 0 || len(p.pcm) < n {
		return nil
	}
	return append([]int16(nil), p.pcm[len(p.pcm)-n:]...)
}

// KitMuted says whether the kit's microphone and camera tracks are muted,
// as a browser would show it; false before the Participant subscribes.
func (p *Participant) KitMuted() (audio, video bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.audioPub != nil && p.audioPub.IsMuted(), p.videoPub != nil && p.videoPub.IsMuted()
}

// FirstVideo returns when the first video packet arrived from each
// participant that sent one (the kit included), by identity.
func (p *Participant) FirstVideo() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.firstVideo)
}

// Subscribed returns when the video of each participant that published
// one was subscribed (negotiated with LiveKit), by identity: the tap →
// media benchmark's last step before the first packet.
func (p *Participant) Subscribed() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.subscribedAt)
}

// quietLogger discards what the SDK logs (every ICE state change, among
// others). It is a zap logger at error level on purpose: for any other
// logger, LiveKit's pion adapter formats every pion debug line before
// dropping it, and formatting a track as pion's onTrack logs it races
// with pion's own writes to that track (go test -race).
func quietLogger(t testing.TB) protologger.Logger {
	t.Helper()
	l, err := protologger.FromZapLogger(zap.NewNop(), &protologger.Config{Level: "error"})
	if err != nil {
		t.Fatalf("participant logger: %v", err)
	}
	return l
}
