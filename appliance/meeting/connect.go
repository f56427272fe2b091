package meeting

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"roomkit/internal/clock"
)

// Reconnecting happens on two levels. server-sdk-go resumes (ICE restart)
// or fully reconnects the same Room after a network drop by itself; the
// callbacks below only report it. When the SFU itself goes away (a restart
// sends every participant a "leave"), the SDK's Room is over, so the
// session joins again with a new Room and new tracks until it gets back in
// or Leave is called.

// joinTimeout bounds one attempt to join.
const joinTimeout = 20 * time.Second

// retransmitPackets is how many sent packets each of our tracks keeps to
// answer the SFU's NACKs. pion's default, 1024, is ~7 s of 1.5 Mbit/s
// camera video and 20 s of Opus, each packet in a 1,460-byte buffer: 3.5 MB
// of live heap for the two tracks, which Go's collector doubles (issue 12).
// A NACK comes within a round trip to the SFU, and a packet the SFU has
// not had after a second is past every subscriber's jitter buffer: 256 is
// ~1.8 s of video and 5 s of audio. Must be a power of two (pion).
const retransmitPackets = 256

// defaultRecoveryLimit is Config.RecoveryLimit's default. The SDK's own
// recovery keeps the tracks and is seamless after a short network drop;
// a node that is gone for good (a LiveKit cluster lost the one the kit
// signals through) it retries for a minute. Five seconds keeps a rejoin
// through another node within the product's 10 s (docs/livekit.md).
const defaultRecoveryLimit = 5 * time.Second

// connect joins the meeting with a new Room and publishes new tracks.
func (s *Session) connect(ctx context.Context) (*lksdk.Room, error) {
	var room *lksdk.Room
	// current drops events of a Room that was replaced by a rejoin or has
	// not finished joining (a failed attempt is the rejoin loop's business).
	// abandoned marks a Room whose recovery took too long (watchRecovery).
	var established, abandoned atomic.Bool
	current := func() bool { return established.Load() && !abandoned.Load() && s.room.Load() == room }
	var giveUp func()
	// recoveries counts the SDK's recovery events, so a limit armed for
	// one outage does not fire during the next.
	var recoveries atomic.Int64
	s.mu.Lock()
	url, token := s.url, s.token
	s.mu.Unlock()
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = s.onTrackSubscribed
	cb.OnTrackUnsubscribed = s.onTrackUnsubscribed
	cb.OnTrackMuted = func(pub lksdk.TrackPublication, p lksdk.Participant) {
		// The meeting's organiser can mute the room (the SFU then mutes
		// our publication): follow it, so the room sees "muted" on its
		// screen and stops sending. Unmuting stays the room's own choice.
		if lp, ok := pub.(*lksdk.LocalTrackPublication); ok {
			switch t := lp.TrackLocal(); {
			case t != nil && t == s.audio.Load():
				s.muted.Store(true)
			case t != nil && t == s.video.Load():
				s.cameraOff.Store(true)
			}
		}
		s.changed()
	}
	cb.OnTrackUnmuted = func(lksdk.TrackPublication, lksdk.Participant) { s.changed() }
	cb.OnTrackPublished = func(*lksdk.RemoteTrackPublication, *lksdk.RemoteParticipant) { s.changed() }
	cb.OnTrackUnpublished = func(*lksdk.RemoteTrackPublication, *lksdk.RemoteParticipant) { s.changed() }
	cb.OnParticipantConnected = func(*lksdk.RemoteParticipant) { s.changed() }
	cb.OnParticipantDisconnected = func(*lksdk.RemoteParticipant) { s.changed() }
	cb.OnActiveSpeakersChanged = func(ps []lksdk.Participant) {
		var ids []string
		for _, p := range ps {
			if _, local := p.(*lksdk.LocalParticipant); !local {
				ids = append(ids, p.Identity())
			}
		}
		s.noteSpeakers(ids)
		s.changed()
	}
	cb.OnIsSpeakingChanged = func(lksdk.Participant) { s.changed() }
	cb.OnReconnecting = func() {
		if !current() {
			return
		}
		s.log.Warn("meeting connection lost, reconnecting")
		s.setConn(Reconnecting)
		n := recoveries.Add(1)
		stillLost := func() bool {
			return recoveries.Load() == n && current() && s.Connection() == Reconnecting && s.ctx.Err() == nil
		}
		// A node that refuses connections is gone: join again through
		// the portal now rather than after the recovery limit.
		s.goTrack(func() {
			if serverRefuses(s.ctx, url) && stillLost() {
				s.log.Warn("the meeting server refuses connections, joining again", "url", url)
				giveUp()
			}
		})
		time.AfterFunc(s.recoveryLimit(), func() {
			if !stillLost() {
				return
			}
			s.log.Warn("the meeting connection did not come back, joining again", "after", s.recoveryLimit())
			giveUp()
		})
	}
	cb.OnReconnected = func() {
		recoveries.Add(1)
		if !current() {
			return
		}
		s.log.Info("meeting connection restored")
		s.stats.reconnects.Add(1)
		// A full reconnect republishes our tracks as new publications,
		// which start unmuted: tell the SFU our state again.
		s.applyMute()
		s.requestKeyframe()
		s.setConn(Connected)
	}
	cb.OnDisconnected = func() {
		if current() {
			s.disconnected(room)
		}
	}

	// giveUp abandons this Room for a new join with a fresh token.
	giveUp = func() {
		abandoned.Store(true) // the SDK's later events for this Room are no longer ours
		go room.Disconnect()
		s.joinAgain()
	}

	room = lksdk.NewRoom(cb)
	s.room.Store(room)
	jctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	if err := room.JoinWithContextAndToken(jctx, url, token,
		lksdk.WithAutoSubscribe(true),
		lksdk.WithLogger(sdkLogger(s.cfg.Logger, &s.steps, s.keyframeNow)),
		lksdk.WithRetransmitBufferSize(retransmitPackets),
	); err != nil {
		return nil, fmt.Errorf("join meeting at %s: %w", url, err)
	}
	if s.cfg.Camera != nil {
		track, err := s.newVideoTrack()
		if err != nil {
			room.Disconnect()
			return nil, fmt.Errorf("video track: %w", err)
		}
		info := s.cfg.Camera.Info()
		if _, err := room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
			Name: "camera", Source: livekit.TrackSource_CAMERA, VideoWidth: info.Width, VideoHeight: info.Height,
		}); err != nil {
			room.Disconnect()
			return nil, fmt.Errorf("publish camera: %w", err)
		}
		s.video.Store(track)
		s.steps.note(StepPublished)
	}
	if s.cfg.Speakerphone != nil {
		track, err := lksdk.NewLocalTrack(opusCapability, lksdk.WithRTCPHandler(s.feedbackHandler(nil)))
		if err != nil {
			room.Disconnect()
			return nil, fmt.Errorf("audio track: %w", err)
		}
		if _, err := room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
			Name: "microphone", Source: livekit.TrackSource_MICROPHONE,
		}); err != nil {
			room.Disconnect()
			return nil, fmt.Errorf("publish microphone: %w", err)
		}
		s.audio.Store(track)
	}
	s.feedback.Store(time.Now().UnixNano())
	established.Store(true)
	s.applyMute()
	s.requestKeyframe()
	s.setConn(Connected)
	s.goTrack(func() {
		s.watchFeedback(current, func(silence time.Duration) {
			s.log.Warn("no word from the meeting server while sending, joining again", "silence", silence.Round(time.Millisecond))
			giveUp()
		})
	})
	return room, nil
}

// disconnected handles the end of a Room: after Leave, or when the meeting
// is over for us, the session is disconnected; otherwise it joins again.
func (s *Session) disconnected(room *lksdk.Room) {
	s.mu.Lock()
	left := s.left
	s.mu.Unlock()
	if left {
		s.setConn(Disconnected)
		return
	}
	reason := room.DisconnectReason()
	if final(reason) {
		s.log.Warn("meeting ended", "reason", reason.String())
		s.setConn(Disconnected)
		return
	}
	s.log.Warn("meeting connection closed, joining again", "reason", reason.String())
	s.joinAgain()
}

// joinAgain starts the rejoin loop unless it already runs.
func (s *Session) joinAgain() {
	s.setConn(Reconnecting)
	if s.rejoining.CompareAndSwap(false, true) {
		s.goTrack(func() {
			defer s.rejoining.Store(false)
			s.rejoin()
		})
	}
}

// final reports whether a disconnect means the meeting is over for the kit
// (rather than a server or network problem worth rejoining after).
func final(r livekit.DisconnectReason) bool {
	switch r {
	case livekit.DisconnectReason_CLIENT_INITIATED, // we left
		livekit.DisconnectReason_PARTICIPANT_REMOVED, // the organiser removed the room
		livekit.DisconnectReason_DUPLICATE_IDENTITY,  // the room joined again elsewhere
		livekit.DisconnectReason_ROOM_DELETED,
		livekit.DisconnectReason_ROOM_CLOSED,
		livekit.DisconnectReason_USER_REJECTED:
		return true
	}
	return false
}

// rejoin joins again with growing pauses, each time with a fresh token
// from the portal, until it succeeds, the portal says the meeting is over
// for the kit, or Leave.
func (s *Session) rejoin() {
	s.dropRemote()
	wait := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		if clock.Sleep(s.ctx, wait) != nil {
			return
		}
		wait = min(wait*2, 10*time.Second)
		if err := s.renew(); errors.Is(err, ErrMeetingOver) {
			s.log.Warn("the portal does not let the kit join the meeting again", "err", err)
			s.setConn(Disconnected)
			return
		} else if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			// The portal may be down while the room survived a network
			// failure: the last token may still do.
			s.log.Warn("no fresh meeting token, trying the last one", "attempt", attempt, "err", err)
		}
		if _, err := s.connect(s.ctx); err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.log.Warn("joining the meeting again failed", "attempt", attempt, "err", err)
			s.setConn(Reconnecting)
			continue
		}
		s.stats.reconnects.Add(1)
		s.log.Info("joined the meeting again", "attempt", attempt)
		return
	}
}

func (s *Session) recoveryLimit() time.Duration {
	if s.cfg.RecoveryLimit > 0 {
		return s.cfg.RecoveryLimit
	}
	return defaultRecoveryLimit
}

// renew fetches a fresh URL and token through Config.Renew.
func (s *Session) renew() error {
	if s.cfg.Renew == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, joinTimeout)
	defer cancel()
	url, token, err := s.cfg.Renew(ctx)
	if err != nil {
		return fmt.Errorf("fresh meeting token: %w", err)
	}
	if url == "" || token == "" {
		return errors.New("fresh meeting token: the portal gave no LiveKit URL or token")
	}
	s.mu.Lock()
	s.url, s.token = url, token
	s.mu.Unlock()
	s.log.Debug("fresh meeting token", "url", url)
	return nil
}

// dropRemote forgets the remote tracks of a connection that is gone.
func (s *Session) dropRemote() {
	s.mu.Lock()
	for sid, v := range s.tracks {
		v.close()
		delete(s.tracks, sid)
		if s.mixer != nil {
			s.mixer.remove(sid)
		}
	}
	s.mu.Unlock()
	s.changed()
}
