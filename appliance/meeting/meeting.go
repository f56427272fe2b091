// Package meeting is the kit's meeting client: a LiveKit participant built
// on server-sdk-go and pion/webrtc. It publishes the room's camera as H.264
// and its speakerphone as Opus, subscribes to everyone else, decodes their
// video into tiles for the UI and mixes their audio into the speaker.
//
// Privacy is enforced where media is produced, not only signalled: with the
// camera off no frame is encoded or written to the track, and while muted
// no microphone sample is encoded. The SFU is also told (track mute), so
// other participants see the state.
package meeting

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"

	"roomkit/drivers/audio"
	"roomkit/drivers/camera"
)

// Config says which meeting to join and with which devices.
type Config struct {
	URL   string // LiveKit signalling URL, from the portal's join answer
	Token string // LiveKit access token; never logged

	// Renew, if set, asks the portal for a fresh URL and token before the
	// session joins again from scratch (after the SFU restarted, say).
	// Tokens live minutes, and LiveKit creates no rooms, so only the
	// portal's join brings back a room the SFU lost: the first token is
	// no good for joining again. An error wrapping ErrMeetingOver ends the
	// session; any other keeps the last token and tries again.
	Renew func(ctx context.Context) (url, token string, err error)

	// RecoveryLimit bounds how long the SDK may try to get a lost
	// connection back by itself (resume, then full reconnects with the
	// first token) before the session gives that Room up and joins again
	// with a fresh token (0: 5 s). An SFU that dies without saying goodbye
	// leaves the SDK retrying a room the new SFU does not know for a
	// minute or more; a meeting should be back well before that.
	RecoveryLimit time.Duration

	// FeedbackLimit bounds how long the kit sends media without any RTCP
	// back from the SFU before it takes the connection for lost and joins
	// again with a fresh token (0: 3 s; negative: never). A LiveKit node
	// that dies silently is otherwise noticed only after 15 s
	// (watchdog.go).
	FeedbackLimit time.Duration

	Camera       camera.Camera      // nil: join without video
	Speakerphone audio.Speakerphone // nil: join without audio

	// VideoBitrate is the H.264 target in bits per second (0: 1.5 Mbit/s,
	// right for 720p30 talking heads).
	VideoBitrate int

	Logger *slog.Logger
	// OnChange is called (from some internal goroutine, never with a lock
	// held) whenever Participants, Tiles or Connection may have changed,
	// so the UI can redraw. New frames do not call it: the UI polls Tiles
	// at its own frame rate.
	OnChange func()

	// OnStep, if set, is called once as the session first passes each
	// Step (from any goroutine, never with a lock held), so a benchmark
	// can time a join step by step.
	OnStep func(Step)
}

// ErrMeetingOver, wrapped in Config.Renew's error, says the portal will
// not let the kit back in (the meeting ended or was deleted): the session
// stops joining again and is disconnected.
var ErrMeetingOver = errors.New("the meeting is over for this kit")

// Connection states, as Connection returns them.
const (
	Connected    = "connected"
	Reconnecting = "reconnecting"
	Disconnected = "disconnected"
)

// Stats are counters for metrics and tests.
type Stats struct {
	VideoFramesCaptured int64 // camera frames read
	VideoFramesSent     int64 // frames written to the video track
	VideoBytesSent      int64 // H.264 bytes written
	VideoFramesDropped  int64 // captured while the camera was off, or failed to encode
	KeyframeRequests    int64 // PLI/FIR from the SFU
	AudioFramesSent     int64 // 20 ms Opus frames written
	AudioFramesMuted    int64 // 20 ms microphone frames discarded while muted
	VideoFramesDecoded  int64 // remote frames decoded
	AudioFramesDecoded  int64 // remote 20 ms frames decoded
	SpeakerFrames       int64 // mixed 20 ms frames written to the speaker
	Reconnects          int64 // times the connection came back
}

// Session is a joined meeting. Its methods are safe for concurrent use.
type Session struct {
	cfg    Config
	log    *slog.Logger
	room   atomic.Pointer[lksdk.Room] // the current connection
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// The tracks of the current connection; a rejoin makes new ones.
	video atomic.Pointer[lksdk.LocalTrack] // nil without a camera
	audio atomic.Pointer[lksdk.LocalTrack] // nil without a speakerphone
	mixer *mixer                           // nil without a speakerphone

	muted     atomic.Bool
	cameraOff atomic.Bool
	rejoining atomic.Bool
	feedback  atomic.Int64 // when the SFU last sent RTCP about our tracks, Unix ns
	keyframe  func()       // asks the video source for a keyframe
	// connectedKeyframe and askedKeyframe wake the video loop to send a
	// keyframe now: the publishing connection came up, the SFU asked.
	connectedKeyframe, askedKeyframe chan struct{}
	steps                            steps

	mu     sync.Mutex
	conn   string
	left   bool
	url    string                  // where and with what the next join connects;
	token  string                  // Renew replaces them
	tracks map[string]*remoteVideo // by track SID
	recent []string                // identities, most recent speaker first

	stats struct {
		videoCaptured, videoSent, videoBytes, videoDropped, keyframeReqs atomic.Int64
		audioSent, audioMuted, videoDecoded, audioDecoded, speaker       atomic.Int64
		reconnects                                                       atomic.Int64
	}
}

// Join connects to the meeting, publishes the camera and the speakerphone
// and starts receiving. ctx bounds only the join itself; the session runs
// until Leave.
func Join(ctx context.Context, cfg Config) (*Session, error) {
	if cfg.URL == "" || cfg.Token == "" {
		return nil, errors.New("join meeting: the portal gave no LiveKit URL or token")
	}
	if cfg.VideoBitrate == 0 {
		cfg.VideoBitrate = 1_500_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Session{cfg: cfg, log: cfg.Logger, conn: Reconnecting, url: cfg.URL, token: cfg.Token, tracks: make(map[string]*remoteVideo),
		connectedKeyframe: make(chan struct{}, 1), askedKeyframe: make(chan struct{}, 1)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.steps.on = cfg.OnStep

	var err error
	var startVideo func()
	if cfg.Camera != nil {
		if startVideo, err = s.prepareVideo(); err != nil {
			s.cancel()
			return nil, err
		}
	}
	if cfg.Speakerphone != nil {
		s.mixer = newMixer()
	}
	room, err := s.connect(ctx)
	if err != nil {
		s.cancel()
		if startVideo != nil {
			startVideo() // only to close the encoder: the context is done
		}
		s.wg.Wait()
		return nil, err
	}
	if startVideo != nil {
		startVideo()
	}
	if cfg.Speakerphone != nil {
		s.startAudio()
	}
	s.log.Info("joined meeting", "room", room.Name(), "url", cfg.URL)
	return s, nil
}

// Leave disconnects and stops every goroutine of the session.
func (s *Session) Leave() error {
	s.mu.Lock()
	if s.left {
		s.mu.Unlock()
		return nil
	}
	s.left = true
	s.mu.Unlock()
	s.cancel()
	if r := s.room.Load(); r != nil {
		r.Disconnect()
	}
	s.wg.Wait()
	// A rejoin that was finishing while we left may have made a new Room.
	if r := s.room.Load(); r != nil {
		r.Disconnect()
	}
	s.mu.Lock()
	for sid, t := range s.tracks {
		t.close()
		delete(s.tracks, sid)
	}
	s.mu.Unlock()
	s.setConn(Disconnected)
	return nil
}

// Connection returns Connected, Reconnecting or Disconnected.
func (s *Session) Connection() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

func (s *Session) setConn(c string) {
	s.mu.Lock()
	old := s.conn
	if s.left {
		c = Disconnected
	}
	s.conn = c
	s.mu.Unlock()
	if old != c {
		s.changed()
	}
}

// changed tells the UI to redraw.
func (s *Session) changed() {
	if s.cfg.OnChange != nil {
		s.cfg.OnChange()
	}
}

// SetMuted stops (or resumes) sending the microphone. While muted the
// microphone is still read, so unmuting is instant and the capture buffer
// never overflows, but no sample is encoded or sent: not even silence.
// Silence frames would still tell others "this room is live" by their
// packet rate and cost bandwidth; LiveKit clients show a muted track as
// muted with no packets at all.
func (s *Session) SetMuted(muted bool) {
	if s.muted.Swap(muted) != muted {
		s.applyMute()
		s.changed()
	}
}

// Muted reports whether the microphone is muted.
func (s *Session) Muted() bool { return s.muted.Load() }

// SetCameraOff stops (or resumes) sending video. With the camera off no
// frame leaves the kit: frames are still drained from the camera (so it
// does not stall) but neither encoded nor written.
func (s *Session) SetCameraOff(off bool) {
	if s.cameraOff.Swap(off) != off {
		s.applyMute()
		if !off {
			s.requestKeyframe()
		}
		s.changed()
	}
}

// CameraOff reports whether the camera is off.
func (s *Session) CameraOff() bool { return s.cameraOff.Load() }

// SetVolume sets the speaker volume, 0–100.
func (s *Session) SetVolume(percent int) {
	if s.cfg.Speakerphone != nil {
		s.cfg.Speakerphone.SetVolume(min(max(percent, 0), 100))
	}
}

// applyMute tells the SFU the current mute state of our publications.
func (s *Session) applyMute() {
	room := s.room.Load()
	if room == nil {
		return
	}
	video, audio := s.video.Load(), s.audio.Load()
	for _, p := range room.LocalParticipant.TrackPublications() {
		pub, ok := p.(*lksdk.LocalTrackPublication)
		if !ok {
			continue
		}
		switch t := pub.TrackLocal(); {
		case audio != nil && t == audio:
			pub.SetMuted(s.muted.Load())
		case video != nil && t == video:
			pub.SetMuted(s.cameraOff.Load())
		}
	}
}

func (s *Session) requestKeyframe() {
	if s.keyframe != nil {
		s.keyframe()
	}
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	return Stats{
		VideoFramesCaptured: s.stats.videoCaptured.Load(),
		VideoFramesSent:     s.stats.videoSent.Load(),
		VideoBytesSent:      s.stats.videoBytes.Load(),
		VideoFramesDropped:  s.stats.videoDropped.Load(),
		KeyframeRequests:    s.stats.keyframeReqs.Load(),
		AudioFramesSent:     s.stats.audioSent.Load(),
		AudioFramesMuted:    s.stats.audioMuted.Load(),
		VideoFramesDecoded:  s.stats.videoDecoded.Load(),
		AudioFramesDecoded:  s.stats.audioDecoded.Load(),
		SpeakerFrames:       s.stats.speaker.Load(),
		Reconnects:          s.stats.reconnects.Load(),
	}
}
