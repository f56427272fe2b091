package meeting

import (
	"image"
	"slices"
	"strings"

	lksdk "github.com/livekit/server-sdk-go/v2"
)

// Participant is someone else in the meeting.
type Participant struct {
	Identity      string `json:"identity"`
	Name          string `json:"name"`
	Speaking      bool   `json:"speaking"`
	AudioMuted    bool   `json:"audio_muted"`
	VideoMuted    bool   `json:"video_muted"`
	ScreenSharing bool   `json:"screen_sharing"`
}

// Tile is one video tile for the UI.
type Tile struct {
	Identity string
	Name     string
	// Frame is the latest decoded picture, or nil with Placeholder saying
	// why there is none. A Frame is never modified once returned.
	Frame       *image.YCbCr
	Placeholder string
	Speaking    bool
	ScreenShare bool // shared content, not a camera
}

// MaxCameraTiles is how many camera tiles the kit's screen shows at once.
const MaxCameraTiles = 6

// placeholderCameraOff is shown for a participant without video.
const placeholderCameraOff = "Camera off"

// Participants returns the other participants, most recent speaker first.
func (s *Session) Participants() []Participant {
	room := s.room.Load()
	if room == nil {
		return nil
	}
	var ps []Participant
	for _, rp := range room.GetRemoteParticipants() {
		ps = append(ps, Participant{
			Identity:      rp.Identity(),
			Name:          displayName(rp),
			Speaking:      rp.IsSpeaking(),
			AudioMuted:    !rp.IsMicrophoneEnabled(),
			VideoMuted:    !rp.IsCameraEnabled(),
			ScreenSharing: rp.IsScreenShareEnabled(),
		})
	}
	rank := s.speakerRank()
	slices.SortStableFunc(ps, func(a, b Participant) int {
		if d := rank(a.Identity) - rank(b.Identity); d != 0 {
			return d
		}
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Identity, b.Identity)
	})
	return ps
}

func displayName(p lksdk.Participant) string {
	if n := p.Name(); n != "" {
		return n
	}
	return p.Identity()
}

// Tiles returns what the screen shows: one camera tile per participant
// (active speaker first, at most MaxCameraTiles), then shared screens.
func (s *Session) Tiles() []Tile {
	if s.room.Load() == nil {
		return nil
	}
	s.mu.Lock()
	videos := make([]*remoteVideo, 0, len(s.tracks))
	for _, v := range s.tracks {
		videos = append(videos, v)
	}
	s.mu.Unlock()

	var tiles []Tile
	for _, p := range s.Participants() {
		t := Tile{Identity: p.Identity, Name: p.Name, Speaking: p.Speaking, Placeholder: placeholderCameraOff}
		if !p.VideoMuted {
			t.Placeholder = placeholderWaiting
			if v := findVideo(videos, p.Identity, false); v != nil {
				t.Frame, t.Placeholder = v.picture()
			}
		}
		tiles = append(tiles, t)
		if p.ScreenSharing {
			st := Tile{Identity: p.Identity, Name: p.Name, ScreenShare: true, Placeholder: placeholderWaiting}
			if v := findVideo(videos, p.Identity, true); v != nil {
				st.Frame, st.Placeholder = v.picture()
			}
			tiles = append(tiles, st)
		}
	}
	return orderTiles(tiles, s.recentSpeakers())
}

func findVideo(vs []*remoteVideo, identity string, screen bool) *remoteVideo {
	for _, v := range vs {
		if v.identity == identity && v.screen == screen {
			return v
		}
	}
	return nil
}

// orderTiles puts camera tiles in speaking order (recent lists identities,
// most recent speaker first; others keep their order), keeps at most
// MaxCameraTiles of them and appends the shared screens.
func orderTiles(tiles []Tile, recent []string) []Tile {
	var cams, screens []Tile
	for _, t := range tiles {
		if t.ScreenShare {
			screens = append(screens, t)
		} else {
			cams = append(cams, t)
		}
	}
	rank := func(id string) int {
		if i := slices.Index(recent, id); i >= 0 {
			return i
		}
		return len(recent)
	}
	slices.SortStableFunc(cams, func(a, b Tile) int { return rank(a.Identity) - rank(b.Identity) })
	if len(cams) > MaxCameraTiles {
		cams = cams[:MaxCameraTiles]
	}
	return append(cams, screens...)
}

// recentSpeakers lists identities, most recent speaker first. It is kept
// across silences so tiles do not jump around when someone pauses.
func (s *Session) recentSpeakers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recent)
}

func (s *Session) speakerRank() func(string) int {
	recent := s.recentSpeakers()
	return func(id string) int {
		if i := slices.Index(recent, id); i >= 0 {
			return i
		}
		return len(recent)
	}
}

// noteSpeakers moves the current speakers (loudest first) to the front of
// the recent-speaker list.
func (s *Session) noteSpeakers(speakers []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(speakers) - 1; i >= 0; i-- {
		id := speakers[i]
		s.recent = slices.DeleteFunc(s.recent, func(r string) bool { return r == id })
		s.recent = slices.Insert(s.recent, 0, id)
	}
	if len(s.recent) > 64 {
		s.recent = s.recent[:64]
	}
}
