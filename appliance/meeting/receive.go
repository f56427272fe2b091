package meeting

import (
	"errors"
	"image"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"roomkit/appliance/meeting/codec"
)

// rtpReader is the part of a webrtc.TrackRemote the receivers use; tests
// feed packets through it without a network.
type rtpReader interface {
	ReadRTP() (*rtp.Packet, interceptor.Attributes, error)
}

// remoteVideo is one subscribed remote video track and its latest picture.
type remoteVideo struct {
	sid, identity string
	screen        bool

	mu          sync.Mutex
	placeholder string        // why there is no picture; "" once one was decoded
	front       *image.YCbCr  // the latest decoded picture
	lent        bool          // front was handed out: it is never written again
	done        chan struct{} // closed when the track ends
	closeOnce   sync.Once
}

func (v *remoteVideo) close() { v.closeOnce.Do(func() { close(v.done) }) }

// picture returns the latest picture, as decoded: the UI scales YCbCr
// straight into its back buffer, so a copy in RGBA would only cost
// memory (4 bytes a pixel instead of 1.5) and a conversion per frame. The
// returned image is never modified afterwards, so the UI may keep it.
func (v *remoteVideo) picture() (*image.YCbCr, string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.front == nil {
		return nil, v.placeholder
	}
	v.lent = true
	return v.front, ""
}

// show publishes a decoded picture and returns the buffer to decode the
// next one into: the previous picture if nobody was handed it, else nil
// (the decoder allocates a new one). So a track owns at most two buffers
// of its own, and allocates only for pictures the screen actually took.
func (v *remoteVideo) show(pic *image.YCbCr) *image.YCbCr {
	v.mu.Lock()
	defer v.mu.Unlock()
	old, lent := v.front, v.lent
	v.front, v.lent, v.placeholder = pic, false, ""
	if lent {
		return nil
	}
	return old
}

// Placeholder texts, shown on a tile instead of a picture.
const (
	placeholderWaiting = "Waiting for video"
)

// unsupportedVideo is the placeholder for a codec the kit cannot decode.
func unsupportedVideo(mime string) string {
	name := strings.TrimPrefix(strings.ToUpper(mime), "VIDEO/")
	return "This participant's video (" + name + ") can't be shown in this room"
}

func (s *Session) onTrackSubscribed(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	mime := track.Codec().MimeType
	sid := pub.SID()
	s.log.Info("subscribed", "participant", rp.Identity(), "track", sid, "codec", mime, "source", pub.Source().String())
	switch track.Kind() {
	case webrtc.RTPCodecTypeVideo:
		screen := pub.Source() == livekit.TrackSource_SCREEN_SHARE
		pli := func() { rp.WritePLI(track.SSRC()) }
		s.startVideoReceiver(sid, rp.Identity(), screen, mime, track, pli)
	case webrtc.RTPCodecTypeAudio:
		s.startAudioReceiver(sid, mime, track)
	}
	s.changed()
}

func (s *Session) onTrackUnsubscribed(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	s.mu.Lock()
	if v := s.tracks[pub.SID()]; v != nil {
		v.close()
		delete(s.tracks, pub.SID())
	}
	s.mu.Unlock()
	if s.mixer != nil {
		s.mixer.remove(pub.SID())
	}
	s.changed()
}

// goTrack runs fn for a track unless the session is leaving.
func (s *Session) goTrack(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.left {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}

// startVideoReceiver adds a tile for a remote video track and decodes it,
// or shows a placeholder for a codec the kit cannot decode. Either way the
// track is read until it ends, so its buffers never back up.
func (s *Session) startVideoReceiver(sid, identity string, screen bool, mime string, r rtpReader, pli func()) {
	v := &remoteVideo{sid: sid, identity: identity, screen: screen, placeholder: placeholderWaiting, done: make(chan struct{})}
	supported := strings.EqualFold(mime, webrtc.MimeTypeH264)
	if !supported {
		v.placeholder = unsupportedVideo(mime)
		s.log.Warn("remote video codec not supported", "participant", identity, "codec", mime)
	}
	s.mu.Lock()
	if old := s.tracks[sid]; old != nil {
		old.close()
	}
	s.tracks[sid] = v
	s.mu.Unlock()
	s.goTrack(func() {
		if supported {
			s.decodeVideo(v, r, pli)
		} else {
			drain(r, v.done)
		}
	})
}

// drain reads a track we cannot use until it ends.
func drain(r rtpReader, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		default:
		}
		if _, _, err := r.ReadRTP(); err != nil {
			return
		}
	}
}

// pliInterval limits keyframe requests while a stream stays broken.
const pliInterval = 500 * time.Millisecond

// decodeVideo reassembles H.264 frames from RTP, decodes them and shows
// the pictures on the tile. After a loss or a decode error it asks the
// sender for a keyframe.
func (s *Session) decodeVideo(v *remoteVideo, r rtpReader, pli func()) {
	dec, err := codec.NewH264Decoder()
	if err != nil {
		s.log.Error("video decoder", "err", err)
		v.mu.Lock()
		v.placeholder = "Video can't be decoded on this kit"
		v.mu.Unlock()
		drain(r, v.done)
		return
	}
	defer dec.Close()
	var jb jitterBuffer
	var back *image.YCbCr
	var lastPLI time.Time
	// After a loss or a decode error the following frames refer to a
	// picture we do not have: hold the last good picture until a keyframe
	// rather than show smeared ones.
	waitKey := false
	askKeyframe := func() {
		if time.Since(lastPLI) >= pliInterval {
			lastPLI = time.Now()
			pli()
		}
	}
	for {
		select {
		case <-v.done:
			return
		default:
		}
		pkt, _, err := r.ReadRTP()
		if err != nil {
			return
		}
		jb.push(pkt)
		for au, afterLoss, ok := jb.pop(); ok; au, afterLoss, ok = jb.pop() {
			if afterLoss {
				waitKey = true
			}
			if waitKey {
				if !codec.IsKeyframe(au) {
					askKeyframe()
					continue
				}
				waitKey = false
			}
			pic, err := dec.Decode(au, back)
			if errors.Is(err, codec.ErrNoPicture) {
				continue
			}
			if err != nil {
				s.log.Debug("remote video", "participant", v.identity, "err", err)
				waitKey = true
				askKeyframe()
				continue
			}
			back = v.show(pic)
			s.stats.videoDecoded.Add(1)
		}
	}
}

// startAudioReceiver decodes a remote audio track into the speaker mix.
func (s *Session) startAudioReceiver(sid, mime string, r rtpReader) {
	if s.mixer == nil || !strings.EqualFold(mime, webrtc.MimeTypeOpus) {
		if s.mixer != nil {
			s.log.Warn("remote audio codec not supported", "track", sid, "codec", mime)
		}
		s.goTrack(func() { drain(r, nil) })
		return
	}
	s.goTrack(func() {
		defer s.mixer.remove(sid)
		s.decodeAudio(sid, r)
	})
}

// maxConceal is the longest gap (in 20 ms packets) that is filled with
// libopus' loss concealment; after longer gaps the stream just resumes.
const maxConceal = 5

func (s *Session) decodeAudio(sid string, r rtpReader) {
	dec, err := codec.NewOpusDecoder()
	if err != nil {
		s.log.Error("audio decoder", "err", err)
		drain(r, nil)
		return
	}
	defer dec.Close()
	pcm := make([]int16, 5760) // 120 ms, the longest Opus packet
	var last uint16
	started := false
	for {
		pkt, _, err := r.ReadRTP()
		if err != nil {
			return
		}
		if started {
			d := int16(pkt.SequenceNumber - last)
			if d <= 0 {
				continue // duplicate or late: already concealed
			}
			for i := int16(1); i < d && i <= maxConceal; i++ {
				if n, err := dec.Decode(nil, pcm[:frameSamples]); err == nil {
					s.mixer.push(sid, pcm[:n])
				}
			}
		}
		started, last = true, pkt.SequenceNumber
		if len(pkt.Payload) == 0 {
			continue
		}
		n, err := dec.Decode(pkt.Payload, pcm)
		if err != nil {
			s.log.Debug("remote audio", "track", sid, "err", err)
			continue
		}
		s.mixer.push(sid, pcm[:n])
		s.stats.audioDecoded.Add(1)
	}
}
