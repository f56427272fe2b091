package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkit/appliance/meeting"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera"
	"roomkit/drivers/camera/cameratest"
	"roomkit/drivers/gpio/gpiotest"
	"roomkit/portalapi"
	"roomkit/provisioning"
	"roomkit/ui"
)

// fakeMeetings is the fake portal's side of protocol.md §7.
type fakeMeetings struct {
	byID   map[string]*portalapi.Meeting
	today  []string // IDs listed for the room today
	mutes  []string // identities muted, "*" for all
	lists  int      // GET requests
	joined []string // meeting IDs joined
}

func (p *fakePortal) meetingRoutes(mux *http.ServeMux) {
	p.meetings.byID = map[string]*portalapi.Meeting{}
	room := func(w http.ResponseWriter, r *http.Request) (*provisioning.Room, bool) {
		id, ok := p.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if !ok {
			writeJSON(w, 401, map[string]string{"error": "invalid_token"})
			return nil, false
		}
		return p.rooms[id], true
	}
	answer := func(w http.ResponseWriter, status int, m *portalapi.Meeting) {
		p.meetings.joined = append(p.meetings.joined, m.ID)
		// A fresh token for every join, as the portal mints.
		tok := fmt.Sprintf("lk-secret-token-%d", len(p.meetings.joined))
		writeJSON(w, status, map[string]any{"url": "ws://127.0.0.1:1", "token": tok, "meeting": m})
	}
	find := func(w http.ResponseWriter, r *http.Request) *portalapi.Meeting {
		id := strings.ReplaceAll(r.PathValue("id"), "-", "")
		if len(id) != 9 {
			writeJSON(w, 400, map[string]string{"error": "That is not a meeting ID: it has 9 digits, like 123-456-789."})
			return nil
		}
		m := p.meetings.byID[id]
		if m == nil {
			writeJSON(w, 404, map[string]string{"error": "No meeting has the ID " + ui.FormatMeetingID(id) + "."})
		}
		return m
	}
	mux.HandleFunc("POST /api/v1/device/meetings", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		rm, ok := room(w, r)
		if !ok {
			return
		}
		now := time.Now()
		m := &portalapi.Meeting{ID: "111222333", Title: now.Format("2006-01-02 15:04") + " Meet Now",
			JoinURL: p.srv.URL + "/join/111-222-333", Organizer: rm.ID, Start: now, End: now.Add(time.Hour)}
		p.meetings.byID[m.ID] = m
		answer(w, 201, m)
	})
	mux.HandleFunc("GET /api/v1/device/meetings", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := room(w, r); !ok {
			return
		}
		p.meetings.lists++
		ms := []*portalapi.Meeting{}
		for _, id := range p.meetings.today {
			ms = append(ms, p.meetings.byID[id])
		}
		writeJSON(w, 200, map[string]any{"meetings": ms})
	})
	mux.HandleFunc("POST /api/v1/device/meetings/{id}/join", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		rm, ok := room(w, r)
		if !ok {
			return
		}
		m := find(w, r)
		switch {
		case m == nil:
		case m.Locked && m.Organizer != rm.ID:
			writeJSON(w, 403, map[string]string{"error": "This meeting is locked."})
		default:
			answer(w, 200, m)
		}
	})
	mux.HandleFunc("POST /api/v1/device/meetings/{id}/lock", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := room(w, r); !ok {
			return
		}
		if m := find(w, r); m != nil {
			var req struct{ Locked bool }
			json.NewDecoder(r.Body).Decode(&req)
			m.Locked = req.Locked
			writeJSON(w, 200, map[string]any{"meeting": m})
		}
	})
	mux.HandleFunc("POST /api/v1/device/meetings/{id}/end", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := room(w, r); !ok {
			return
		}
		if m := find(w, r); m != nil {
			delete(p.meetings.byID, m.ID)
			w.WriteHeader(204)
		}
	})
	mux.HandleFunc("POST /api/v1/device/meetings/{id}/mute", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := room(w, r); !ok {
			return
		}
		if m := find(w, r); m != nil {
			var req struct {
				Identity string
				All      bool
			}
			json.NewDecoder(r.Body).Decode(&req)
			if req.All {
				req.Identity = "*"
			}
			p.meetings.mutes = append(p.meetings.mutes, req.Identity)
			w.WriteHeader(204)
		}
	})
}

func (p *fakePortal) addMeeting(m portalapi.Meeting, today bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.meetings.byID[m.ID] = &m
	if today {
		p.meetings.today = append(p.meetings.today, m.ID)
	}
}

func (p *fakePortal) mutes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.meetings.mutes...)
}

func (p *fakePortal) meeting(id string) portalapi.Meeting {
	p.mu.Lock()
	defer p.mu.Unlock()
	return *p.meetings.byID[id]
}

// fakeSession stands in for a LiveKit session.
type fakeSession struct {
	cfg meeting.Config

	mu        sync.Mutex
	muted     bool
	cameraOff bool
	volume    int
	left      bool
	conn      string
	people    []meeting.Participant
	tiles     []meeting.Tile
}

func (s *fakeSession) SetMuted(m bool)     { s.mu.Lock(); s.muted = m; s.mu.Unlock() }
func (s *fakeSession) SetCameraOff(o bool) { s.mu.Lock(); s.cameraOff = o; s.mu.Unlock() }
func (s *fakeSession) SetVolume(v int)     { s.mu.Lock(); s.volume = v; s.mu.Unlock() }
func (s *fakeSession) Participants() []meeting.Participant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]meeting.Participant(nil), s.people...)
}
func (s *fakeSession) Tiles() []meeting.Tile {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]meeting.Tile(nil), s.tiles...)
}
func (s *fakeSession) Connection() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}
func (s *fakeSession) Stats() meeting.Stats { return meeting.Stats{} }
func (s *fakeSession) Leave() error {
	s.mu.Lock()
	s.left, s.conn = true, meeting.Disconnected
	s.mu.Unlock()
	return nil
}

func (s *fakeSession) state() (muted, cameraOff bool, volume int, left bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.muted, s.cameraOff, s.volume, s.left
}

// sessions hands the kit fake sessions and keeps them for the test.
type sessions struct {
	mu   sync.Mutex
	all  []*fakeSession
	fail error
}

func (ss *sessions) join(ctx context.Context, cfg meeting.Config) (session, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.fail != nil {
		return nil, ss.fail
	}
	if !strings.HasPrefix(cfg.Token, "lk-secret-token") || cfg.URL == "" {
		return nil, errors.New("no LiveKit URL or token")
	}
	s := &fakeSession{cfg: cfg, conn: meeting.Connected, volume: -1}
	ss.all = append(ss.all, s)
	return s, nil
}

func (ss *sessions) last() *fakeSession {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.all) == 0 {
		return nil
	}
	return ss.all[len(ss.all)-1]
}

// startMeetingKit is a paired kit with a synthetic camera and
// speakerphone whose meetings are fake sessions.
func startMeetingKit(t *testing.T) (*harness, *sessions) {
	t.Helper()
	p := newFakePortal(t)
	ss := &sessions{}
	h := startWith(t, p, t.TempDir(), func(c *Config) {
		c.Camera = cameratest.NewSynthetic(320, 240, 15)
		c.Speakerphone = audiotest.NewSynthetic(440)
	})
	h.kit.meetings.joinSession = ss.join
	h.pairAs(boardroom)
	return h, ss
}

// tapAction taps the control for a (kind and index).
func (h *harness) tapAction(a ui.Action) {
	h.t.Helper()
	v := h.kit.view()
	r := ui.NewRenderer(testSize)
	for y := 0; y < testSize.Y; y += 4 {
		for x := 0; x < testSize.X; x += 4 {
			if r.Hit(v, image.Pt(x, y)) == a {
				h.touch.Tap(x, y)
				return
			}
		}
	}
	h.t.Fatalf("no %v control on the %v screen", a, v.Screen)
}

func TestMeetNowControlsAndLeave(t *testing.T) {
	h, ss := startMeetingKit(t)
	h.tap(ui.MeetNow)
	s, v := h.until("in the meeting", func(s Status, v ui.View) bool { return v.Screen == ui.InMeeting && s.State == InMeeting })
	m := v.Meeting
	if m == nil || m.ID != "111222333" || !m.Organizer || !strings.HasSuffix(m.Title, "Meet Now") || m.JoinURL == "" {
		t.Fatalf("meeting view %+v", m)
	}
	if s.Meeting == nil || s.Meeting.ID != "111222333" || !s.Meeting.Organizer || s.Meeting.Connection != meeting.Connected {
		t.Fatalf("status meeting %+v", s.Meeting)
	}
	sess := ss.last()
	if sess.cfg.Camera == nil || sess.cfg.Speakerphone == nil {
		t.Errorf("the meeting got camera %v and speakerphone %v; want both", sess.cfg.Camera, sess.cfg.Speakerphone)
	}
	// The meeting reads the camera alone, and shows the room itself.
	if s, ok := sess.cfg.Camera.(*camera.SelfView); ok {
		go func() {
			for range 3 {
				s.Next(context.Background())
				time.Sleep(selfViewInterval + 10*time.Millisecond)
			}
		}()
	}
	h.until("the self-view", func(s Status, v ui.View) bool { return v.Meeting != nil && v.Meeting.Self != nil })

	// A guest with a picture and one without.
	pic := image.NewYCbCr(image.Rect(0, 0, 32, 18), image.YCbCrSubsampleRatio420)
	sess.mu.Lock()
	sess.people = []meeting.Participant{{Identity: "guest-ada", Name: "Ada"}, {Identity: "guest-bob", Name: "Bob", AudioMuted: true}}
	sess.tiles = []meeting.Tile{{Identity: "guest-ada", Name: "Ada", Frame: pic}, {Identity: "guest-bob", Name: "Bob", Placeholder: "Video not supported (VP8)"}}
	sess.mu.Unlock()
	s, v = h.until("two tiles", func(s Status, v ui.View) bool { return len(v.Meeting.Tiles) == 2 })
	if tl := v.Meeting.Tiles[1]; tl.Frame != nil || tl.Placeholder != "Video not supported (VP8)" || !tl.AudioMuted {
		t.Errorf("Bob's tile %+v: want the placeholder, muted", tl)
	}
	if v.Meeting.Content != nil {
		t.Error("content layout with nobody sharing")
	}
	if len(s.Meeting.Participants) != 2 || !s.Meeting.Tiles[0].Picture || s.Meeting.Tiles[1].Picture {
		t.Errorf("status participants %+v tiles %+v", s.Meeting.Participants, s.Meeting.Tiles)
	}

	// A shared screen switches to the content layout.
	sess.mu.Lock()
	sess.tiles = append(sess.tiles, meeting.Tile{Identity: "guest-ada", Name: "Ada", ScreenShare: true})
	sess.mu.Unlock()
	s, v = h.until("the content layout", func(s Status, v ui.View) bool { return v.Meeting.Content != nil })
	if v.Meeting.ContentFrom != "Ada" || s.Meeting.Sharing != "Ada" || len(v.Meeting.Tiles) != 2 {
		t.Errorf("content from %q (status %q), %d tiles", v.Meeting.ContentFrom, s.Meeting.Sharing, len(v.Meeting.Tiles))
	}

	h.tap(ui.ToggleMute)
	h.until("muted", func(s Status, v ui.View) bool { m, _, _, _ := sess.state(); return m && s.Muted && v.Meeting.Muted })
	h.tap(ui.ToggleCamera)
	h.until("camera off", func(s Status, v ui.View) bool {
		_, off, _, _ := sess.state()
		return off && s.Meeting.CameraOff && v.Meeting.CameraOff && v.Meeting.Self == nil
	})
	h.tap(ui.VolumeUp)
	h.until("volume 80", func(s Status, v ui.View) bool {
		_, _, vol, _ := sess.state()
		return vol == 80 && v.Meeting.Volume == 80
	})

	h.tap(ui.ToggleParticipants)
	h.until("the participants panel", func(s Status, v ui.View) bool { return v.Meeting.Panel == ui.ParticipantsPanel })
	h.tapAction(ui.Action{Kind: ui.MuteParticipant, Index: 0})
	h.tap(ui.MuteAll)
	h.until("Ada muted, then everyone", func(Status, ui.View) bool {
		ms := h.portal.mutes()
		return len(ms) == 2 && ms[0] == "guest-ada" && ms[1] == "*"
	})
	h.tap(ui.ToggleLock)
	h.until("locked", func(s Status, v ui.View) bool { return s.Meeting.Locked && v.Meeting.Locked })
	if !h.portal.meeting("111222333").Locked {
		t.Error("the portal's meeting is not locked")
	}
	h.tap(ui.ToggleInvite)
	h.until("the invite panel", func(s Status, v ui.View) bool { return v.Meeting.Panel == ui.InvitePanel })

	h.tap(ui.Leave)
	s, _ = h.until("home again", func(s Status, v ui.View) bool { return v.Screen == ui.Home && s.State == Ready })
	if _, _, _, left := sess.state(); !left || s.Meeting != nil {
		t.Errorf("after Leave: session left %v, status meeting %+v", left, s.Meeting)
	}
	// The room stays muted (the LED's state), and the next meeting starts muted.
	if err := h.kit.MeetNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m, _, _, _ := ss.last().state(); !m {
		t.Error("a muted room joined its next meeting unmuted")
	}
	if err := h.kit.MeetNow(context.Background()); !errors.Is(err, ErrInMeeting) {
		t.Errorf("Meet Now in a meeting: %v", err)
	}
	if err := h.kit.Leave(); err != nil {
		t.Fatal(err)
	}
	if err := h.kit.Leave(); !errors.Is(err, ErrNotInMeeting) {
		t.Errorf("Leave outside a meeting: %v", err)
	}
	if err := h.kit.SetCameraOff(true); !errors.Is(err, ErrNotInMeeting) {
		t.Errorf("camera off outside a meeting: %v", err)
	}
}

func TestKeypadJoin(t *testing.T) {
	h, ss := startMeetingKit(t)
	h.portal.addMeeting(portalapi.Meeting{ID: "555666777", Title: "Locked review", Organizer: "rm_other", Locked: true}, false)
	h.portal.addMeeting(portalapi.Meeting{ID: "987654321", Title: "Weekly", Organizer: "rm_other", JoinURL: "http://x/join/987-654-321"}, false)

	for _, tc := range []struct {
		id, want string
	}{
		{"123456789", "No meeting has the ID 123-456-789."},
		{"555666777", "This meeting is locked."},
	} {
		t.Run(tc.id, func(t *testing.T) {
			h.tap(ui.Join)
			h.until("the keypad", func(s Status, v ui.View) bool { return v.Screen == ui.Keypad })
			for _, d := range tc.id {
				h.tapAction(ui.Action{Kind: ui.KeypadDigit, Index: int(d - '0')})
			}
			h.until("nine digits", func(s Status, v ui.View) bool { return v.Keypad.Digits == tc.id })
			h.tap(ui.KeypadJoin)
			_, v := h.until("the portal's words", func(s Status, v ui.View) bool { return v.Keypad != nil && v.Keypad.Error != "" })
			if v.Keypad.Error != tc.want || v.Keypad.Busy {
				t.Errorf("keypad error %q busy %v, want %q", v.Keypad.Error, v.Keypad.Busy, tc.want)
			}
			// A correction clears the error; Cancel goes home.
			h.tap(ui.KeypadBackspace)
			h.until("the error gone", func(s Status, v ui.View) bool { return v.Keypad.Error == "" && len(v.Keypad.Digits) == 8 })
			h.tap(ui.KeypadCancel)
			h.until("home", func(s Status, v ui.View) bool { return v.Screen == ui.Home })
		})
	}

	h.tap(ui.Join)
	h.until("the keypad", func(s Status, v ui.View) bool { return v.Screen == ui.Keypad })
	for _, d := range "987654321" {
		h.tapAction(ui.Action{Kind: ui.KeypadDigit, Index: int(d - '0')})
	}
	h.until("nine digits", func(s Status, v ui.View) bool { return v.Keypad.Digits == "987654321" })
	h.tap(ui.KeypadJoin)
	_, v := h.until("in the meeting", func(s Status, v ui.View) bool { return v.Screen == ui.InMeeting })
	if v.Meeting.Organizer || v.Meeting.Title != "Weekly" {
		t.Errorf("joined %+v; want Weekly, not organised by the room", v.Meeting)
	}
	if err := h.kit.LockMeeting(context.Background(), true); !errors.Is(err, ErrNotOrganizer) {
		t.Errorf("lock as a guest room: %v", err)
	}
	// The meeting ends by itself: home, saying so.
	sess := ss.last()
	sess.mu.Lock()
	sess.conn = meeting.Disconnected
	sess.mu.Unlock()
	h.until("home with a notice", func(s Status, v ui.View) bool { return v.Screen == ui.Home && v.Notice == noticeEnded })

	// LiveKit refuses: the keypad says so and the camera is the kit's again.
	ss.mu.Lock()
	ss.fail = errors.New("LiveKit refused the token")
	ss.mu.Unlock()
	err := h.kit.JoinMeeting(context.Background(), "987-654-321")
	if err == nil || !strings.Contains(err.Error(), "LiveKit refused the token") {
		t.Errorf("join with LiveKit refusing: %v", err)
	}
	if s := h.kit.Status(); s.State != Ready || s.Meeting != nil {
		t.Errorf("after a failed join: %+v", s)
	}
}

func TestUpcomingStart(t *testing.T) {
	p := newFakePortal(t)
	now := time.Now()
	ss := &sessions{}
	h := startWith(t, p, t.TempDir(), nil)
	h.kit.meetings.joinSession = ss.join
	p.addMeeting(portalapi.Meeting{ID: "100200300", Title: "Over", Organizer: "rm_1", Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)}, true)
	p.addMeeting(portalapi.Meeting{ID: "400500600", Title: "Standup", Organizer: "rm_1", Start: now.Add(-5 * time.Minute), End: now.Add(10 * time.Minute)}, true)
	p.addMeeting(portalapi.Meeting{ID: "700800900", Title: "Planning", Organizer: "rm_1", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)}, true)
	h.pairAs(boardroom)
	s, v := h.until("today's meetings", func(s Status, v ui.View) bool { return len(v.Upcoming) == 2 })
	if v.Upcoming[0].Title != "Standup" || !v.Upcoming[0].InProgress || v.Upcoming[1].InProgress || len(s.Upcoming) != 2 {
		t.Errorf("upcoming %+v (status %+v); want Standup in progress, then Planning", v.Upcoming, s.Upcoming)
	}
	h.tapAction(ui.Action{Kind: ui.StartMeeting, Index: 1})
	_, v = h.until("in Planning", func(s Status, v ui.View) bool { return v.Screen == ui.InMeeting })
	if v.Meeting.ID != "700800900" || !v.Meeting.Organizer {
		t.Errorf("started %+v", v.Meeting)
	}
}

// TestMuteButtonInMeeting: the GPIO button mutes the meeting and lights
// the LED; the screen's Mute button turns both off again.
func TestMuteButtonInMeeting(t *testing.T) {
	p := newFakePortal(t)
	ss := &sessions{}
	panel := gpiotest.New(4)
	h := startWith(t, p, t.TempDir(), func(c *Config) { c.GPIO = panel })
	h.kit.meetings.joinSession = ss.join
	h.pairAs(boardroom)
	if err := h.kit.MeetNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	sess := ss.last()
	panel.Press()
	h.until("muted by the button", func(s Status, v ui.View) bool {
		m, _, _, _ := sess.state()
		return m && panel.LED() && v.Meeting != nil && v.Meeting.Muted
	})
	h.tap(ui.ToggleMute)
	h.until("unmuted on screen", func(s Status, v ui.View) bool {
		m, _, _, _ := sess.state()
		return !m && !panel.LED() && !s.Muted
	})
}

// TestMeetingScreenRedraws: a new remote picture reaches the display by
// itself, without any other change.
func TestMeetingScreenRedraws(t *testing.T) {
	h, ss := startMeetingKit(t)
	if err := h.kit.MeetNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	sess := ss.last()
	// A new picture is drawn without any other change.
	before := h.screen.Frames()
	for i := range 5 {
		pic := image.NewYCbCr(image.Rect(0, 0, 16, 9), image.YCbCrSubsampleRatio420)
		pic.Y[0] = uint8(i * 40)
		sess.mu.Lock()
		sess.people = []meeting.Participant{{Identity: "guest-ada", Name: "Ada"}}
		sess.tiles = []meeting.Tile{{Identity: "guest-ada", Name: "Ada", Frame: pic}}
		sess.mu.Unlock()
		h.until("the frame drawn", func(Status, ui.View) bool { return h.screen.Frames() > before+i })
	}
}
