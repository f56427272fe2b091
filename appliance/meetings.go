package appliance

// The meeting controller: Meet Now, join by ID, the room's meetings
// today, and the meeting itself — the session on LiveKit (package
// meeting) with the kit's camera and speakerphone, and its controls
// (mute, camera, volume; the organiser's lock, mute and end).
//
//	ready ──(Meet Now, Join, Start)──► in-meeting ──(Leave, End, the
//	  ▲                                    │         meeting ended)
//	  └────────────────────────────────────┘
//
// Joining does not change the state: the kit stays ready (home or
// keypad, showing that it is busy) until the session is up, so a join
// that fails leaves the room exactly where it was. The kit is in the
// in-meeting state exactly while the controller holds a meeting.

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"roomkit/appliance/meeting"
	"roomkit/drivers/audio"
	"roomkit/drivers/camera"
	"roomkit/drivers/gpio"
	"roomkit/portalapi"
)

const (
	// joinTimeout bounds asking the portal and connecting to LiveKit.
	joinTimeout = 45 * time.Second
	// meetingsRefresh is how often the home screen's list of today's
	// meetings is fetched again.
	meetingsRefresh = time.Minute
	// selfViewInterval is how often the self-view copies a camera frame;
	// MJPEG cameras need a decode for it, which costs more.
	selfViewInterval      = 100 * time.Millisecond
	selfViewIntervalMJPEG = 250 * time.Millisecond
	// selfViewMaxWidth bounds the self-view's copy: it is about 350
	// pixels wide on a 1080p screen.
	selfViewMaxWidth = 400
	// defaultVolume is the speaker drivers' own default gain.
	defaultVolume = 70
	// endedPoll is how often a meeting's connection is checked for the
	// server having ended it.
	endedPoll = 500 * time.Millisecond
)

// Errors of the meeting controls, as the control API shows them.
var (
	ErrNotInMeeting = errors.New("not in a meeting")
	ErrInMeeting    = errors.New("already in a meeting: leave it first")
	ErrJoining      = errors.New("already joining a meeting")
	ErrNotReady     = errors.New("the kit is not paired with a room yet")
	ErrNotOrganizer = errors.New("only the meeting's organiser can do that")
)

// Notices the screen shows for meetings.
const (
	noticeStarting = "Starting the meeting…"
	noticeJoining  = "Joining the meeting…"
	noticeEnded    = "The meeting ended."
)

// session is what the kit uses of a *meeting.Session; tests fake it.
type session interface {
	SetMuted(bool)
	SetCameraOff(bool)
	SetVolume(int)
	Participants() []meeting.Participant
	Tiles() []meeting.Tile
	Connection() string
	Stats() meeting.Stats
	Leave() error
}

func joinMeetingSession(ctx context.Context, cfg meeting.Config) (session, error) {
	s, err := meeting.Join(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// meetingEvents is what the meeting controller tells the screen.
type meetingEvents interface {
	// changed: something shown changed; draw.
	changed()
	// notice shows text for d; d == 0 takes text away if it is still shown.
	notice(text string, d time.Duration)
	// joined: the kit is in a new meeting; close what covered the screen.
	joined()
}

// meetingControl is the meeting controller.
type meetingControl struct {
	log         *slog.Logger
	now         func() time.Time
	link        *portalLink     // tokens and the room's ID
	ready       func() error    // nil: the kit is paired, not resetting or updating
	events      meetingEvents   // the screen
	cam         *camera.Shared  // nil without a camera
	camFree     func()          // the camera is the kit's again
	mic         *audio.MuteGate // nil without a speakerphone
	gpio        gpio.Controls   // nil without a panel: the mute LED
	joinSession func(context.Context, meeting.Config) (session, error)
	bg          *sync.WaitGroup                // the goroutines it starts; Run waits for them
	wake        chan struct{}                  // refresh today's meetings now
	listed      func(now time.Time, err error) // if set, hears each listing's outcome (the health tree)
	onStep      func(step string)              // if set, hears each step of a join (Config.OnJoinStep)

	muteMu sync.Mutex // serialises mute changes: flag, LED and session agree

	mu         sync.Mutex
	joining    bool // asking the portal or connecting to a meeting
	joinCancel context.CancelFunc
	meet       *inMeeting // the meeting the kit is in
	upcoming   []portalapi.Meeting
	muted      bool // the room's microphone, toggled by the mute button
	volume     int  // the speaker's volume, 0..100
	// startVolume is the volume each meeting starts at (a profile's
	// "volume"); nil: the volume stays as it was.
	startVolume *int
}

// inMeeting is the meeting the kit is in.
type inMeeting struct {
	sess      session
	info      portalapi.Meeting
	organizer bool
	self      *camera.SelfView // nil without a camera
	release   func()           // gives the camera back to the kit's own reads
	stop      context.CancelFunc
	cameraOff bool
	ending    bool // Leave is under way
}

// meetingState is a snapshot of the meeting, for the screen and the
// status.
type meetingState struct {
	Info         portalapi.Meeting
	Organizer    bool
	CameraOff    bool
	Muted        bool
	Volume       int
	Connection   string
	Reconnects   int64
	Participants []meeting.Participant
	Tiles        []meeting.Tile
	Self         image.Image // the room's own picture; nil when off or none
}

// MeetNow starts an instant meeting and joins it.
func (mc *meetingControl) meetNow(ctx context.Context) error {
	return mc.join(ctx, noticeStarting, func(ctx context.Context, c *portalapi.Client, tok string) (*portalapi.MeetingJoin, error) {
		return c.MeetNow(ctx, tok)
	})
}

// joinID joins the meeting id ("123456789" or "123-456-789").
func (mc *meetingControl) joinID(ctx context.Context, id string) error {
	return mc.join(ctx, noticeJoining, func(ctx context.Context, c *portalapi.Client, tok string) (*portalapi.MeetingJoin, error) {
		return c.JoinMeeting(ctx, tok, id)
	})
}

// join asks the portal for a meeting (ask), connects to it with the
// camera and the speakerphone, and returns once the kit is in it, or
// why it is not.
func (mc *meetingControl) join(ctx context.Context, notice string, ask func(context.Context, *portalapi.Client, string) (*portalapi.MeetingJoin, error)) error {
	mc.mu.Lock()
	if err := mc.ready(); err != nil && mc.meet == nil {
		mc.mu.Unlock()
		return err
	}
	switch {
	case mc.meet != nil:
		mc.mu.Unlock()
		return ErrInMeeting
	case mc.joining:
		mc.mu.Unlock()
		return ErrJoining
	}
	jctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	mc.joining, mc.joinCancel = true, cancel
	mc.mu.Unlock()
	mc.events.notice(notice, joinTimeout)
	defer func() {
		mc.mu.Lock()
		mc.joining, mc.joinCancel = false, nil
		mc.mu.Unlock()
		mc.events.notice(notice, 0)
	}()

	step := func(string) {}
	if mc.onStep != nil {
		step = mc.onStep
	}
	var ans *portalapi.MeetingJoin
	err := mc.link.withToken(jctx, func(c *portalapi.Client, tok string) error {
		step("token")
		var err error
		ans, err = ask(jctx, c, tok)
		return err
	})
	if err != nil {
		if ctx.Err() == nil && jctx.Err() != nil {
			return errors.New("join: cancelled")
		}
		return err
	}
	step("portal")
	mc.log.Info("joining meeting", "meeting", ans)

	release := mc.holdCamera()
	cfg := meeting.Config{URL: ans.URL, Token: ans.Token, Logger: mc.log.With("meeting", ans.Meeting.ID), OnChange: mc.events.changed,
		Renew: mc.renew(ans.Meeting.ID), OnStep: func(s meeting.Step) { step(string(s)) }}
	var self *camera.SelfView
	if mc.cam != nil {
		every := selfViewInterval
		if mc.cam.Camera().Info().Format == camera.MJPEG {
			every = selfViewIntervalMJPEG
		}
		self = camera.NewSelfView(mc.cam.Camera(), every, selfViewMaxWidth)
		cfg.Camera = self
	}
	if mc.mic != nil {
		cfg.Speakerphone = mc.mic
	}
	sess, err := mc.joinSession(jctx, cfg)
	if err != nil {
		release()
		if ctx.Err() == nil && errors.Is(jctx.Err(), context.Canceled) {
			return errors.New("join: cancelled") // the keypad's Cancel, not a time-out
		}
		return fmt.Errorf("cannot connect to the meeting: %w", err)
	}

	mctx, stop := context.WithCancel(context.Background())
	m := &inMeeting{sess: sess, info: ans.Meeting, organizer: ans.Meeting.Organizer != "" && ans.Meeting.Organizer == mc.link.roomID(),
		self: self, release: release, stop: stop}
	mc.muteMu.Lock()
	mc.mu.Lock()
	if mc.ready() != nil || jctx.Err() != nil {
		// Unpaired, reset or cancelled while connecting.
		mc.mu.Unlock()
		mc.muteMu.Unlock()
		stop()
		sess.Leave()
		release()
		return errors.New("join: cancelled")
	}
	mc.meet = m
	muted := mc.muted
	start := mc.startVolume
	if start != nil {
		mc.volume = *start
	}
	mc.mu.Unlock()
	sess.SetMuted(muted)
	if start != nil {
		sess.SetVolume(*start)
	}
	mc.muteMu.Unlock()
	mc.log.Info("in meeting", "meeting", ans.Meeting.ID, "title", ans.Meeting.Title, "organizer", m.organizer)
	mc.bg.Go(func() { mc.watch(mctx, m) })
	mc.events.joined()
	mc.events.changed()
	return nil
}

// holdCamera gives the meeting the camera alone until release.
func (mc *meetingControl) holdCamera() (release func()) {
	if mc.cam == nil {
		return func() {}
	}
	hold := mc.cam.Hold()
	return func() {
		hold()
		mc.camFree()
	}
}

// renew asks the portal to let the kit into meeting id again, for the
// session's rejoin: a fresh token (the first one lives minutes), and the
// portal opens the LiveKit room again if the SFU lost it. A meeting that
// ended or is gone means the kit is out of it. A lock (or a full
// meeting) refuses new tokens only: a kit that was in at the lock may
// come back with the token it has, so the session keeps trying with it.
func (mc *meetingControl) renew(id string) func(ctx context.Context) (string, string, error) {
	return func(ctx context.Context) (string, string, error) {
		var ans *portalapi.MeetingJoin
		err := mc.link.withToken(ctx, func(c *portalapi.Client, tok string) error {
			var err error
			ans, err = c.JoinMeeting(ctx, tok, id)
			return err
		})
		var me *portalapi.MeetingError
		if errors.As(err, &me) {
			switch me.Status {
			case http.StatusNotFound, http.StatusGone:
				return "", "", fmt.Errorf("%w: %w", meeting.ErrMeetingOver, err)
			}
		}
		if err != nil {
			return "", "", err
		}
		return ans.URL, ans.Token, nil
	}
}

// watch returns the kit home when the meeting ends by itself (the server
// ended it, or the room was removed from it).
func (mc *meetingControl) watch(ctx context.Context, m *inMeeting) {
	t := time.NewTicker(endedPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m.sess.Connection() == meeting.Disconnected {
			mc.log.Warn("the meeting ended by itself", "meeting", m.info.ID)
			mc.leaveMeeting(m, noticeEnded)
			return
		}
	}
}

// current is the meeting the kit is in, or nil.
func (mc *meetingControl) current() *inMeeting {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.meet
}

// leave leaves the meeting the kit is in.
func (mc *meetingControl) leave() error {
	m := mc.current()
	if m == nil {
		return ErrNotInMeeting
	}
	mc.leaveMeeting(m, "")
	return nil
}

// leaveMeeting ends m (if it is still the kit's meeting) and returns home
// with notice. It returns once the session is gone and the camera is
// back.
func (mc *meetingControl) leaveMeeting(m *inMeeting, notice string) {
	mc.mu.Lock()
	if mc.meet != m || m.ending {
		mc.mu.Unlock()
		return
	}
	m.ending = true
	mc.mu.Unlock()
	m.stop()
	if err := m.sess.Leave(); err != nil {
		mc.log.Warn("leave meeting", "meeting", m.info.ID, "err", err)
	}
	m.release()
	mc.mu.Lock()
	left := mc.meet == m
	if left {
		mc.meet = nil
	}
	mc.mu.Unlock()
	if left && notice != "" {
		mc.events.notice(notice, noticeFor)
	}
	mc.log.Info("left meeting", "meeting", m.info.ID)
	mc.refreshSoon()
	mc.events.changed()
}

// endAll ends the meeting and any join under way, because the kit is
// leaving the ready state (unpaired, reset, stopping): the session is
// left in the background. Today's meetings are forgotten with the room.
func (mc *meetingControl) endAll() {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.upcoming = nil
	if mc.joinCancel != nil {
		mc.joinCancel()
	}
	m := mc.meet
	if m == nil {
		return
	}
	mc.meet = nil
	m.ending = true
	mc.bg.Go(func() {
		m.stop()
		m.sess.Leave()
		m.release()
	})
}

// cancelJoin cancels a join under way (the keypad's Cancel).
func (mc *meetingControl) cancelJoin() {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.joinCancel != nil {
		mc.joinCancel()
	}
}

// busy reports whether a join is under way.
func (mc *meetingControl) busy() bool {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.joining
}

// setMuted sets the room's microphone to change(its current state)
// (true: muted) and lights the mute LED to match. In a meeting it mutes
// the session too: the button, the screen and roomctl all mute the same
// microphone; a meeting joined later starts muted.
func (mc *meetingControl) setMuted(change func(muted bool) bool) {
	mc.muteMu.Lock()
	defer mc.muteMu.Unlock()
	mc.mu.Lock()
	muted := change(mc.muted)
	mc.muted = muted
	if mc.mic != nil {
		mc.mic.SetMuted(muted)
	}
	var sess session
	if mc.meet != nil {
		sess = mc.meet.sess
	}
	// Under the lock, so that LED and flag never disagree after two
	// quick changes; the panel's own lock is short.
	var err error
	if mc.gpio != nil {
		err = mc.gpio.SetMuteLED(muted)
	}
	mc.mu.Unlock()
	if sess != nil {
		sess.SetMuted(muted)
	}
	mc.log.Info("microphone", "muted", muted)
	if err != nil {
		mc.log.Warn("cannot set the mute LED", "err", err)
	}
	mc.events.changed()
}

// setCameraOff turns the room's camera off (no frame leaves the kit) or
// on again in the meeting.
func (mc *meetingControl) setCameraOff(off bool) error {
	mc.mu.Lock()
	m := mc.meet
	if m == nil {
		mc.mu.Unlock()
		return ErrNotInMeeting
	}
	m.cameraOff = off
	mc.mu.Unlock()
	if m.self != nil {
		m.self.SetOff(off)
	}
	m.sess.SetCameraOff(off)
	mc.log.Info("camera", "off", off)
	mc.events.changed()
	return nil
}

// setVolume sets the speaker's volume to change(the current one),
// clamped to 0–100, in the meeting or, outside one, on the speakerphone.
func (mc *meetingControl) setVolume(change func(int) int) {
	mc.mu.Lock()
	v := min(max(change(mc.volume), 0), 100)
	mc.volume = v
	m := mc.meet
	mc.mu.Unlock()
	if m != nil {
		m.sess.SetVolume(v)
	} else if mc.mic != nil {
		mc.mic.SetVolume(v)
	}
	mc.events.changed()
}

// setStartVolume sets the volume each meeting starts at (nil: none);
// outside a meeting the speaker takes it now, a meeting under way keeps
// its own.
func (mc *meetingControl) setStartVolume(v *int) {
	mc.mu.Lock()
	mc.startVolume = v
	idle := mc.meet == nil && !mc.joining
	mc.mu.Unlock()
	if v != nil && idle {
		mc.setVolume(func(int) int { return *v })
	}
}

// organised is the meeting the room organises.
func (mc *meetingControl) organised() (*inMeeting, error) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	switch {
	case mc.meet == nil:
		return nil, ErrNotInMeeting
	case !mc.meet.organizer:
		return nil, ErrNotOrganizer
	}
	return mc.meet, nil
}

// lock locks or unlocks the meeting the room organises.
func (mc *meetingControl) lock(ctx context.Context, locked bool) error {
	m, err := mc.organised()
	if err != nil {
		return err
	}
	var info portalapi.Meeting
	err = mc.link.withToken(ctx, func(c *portalapi.Client, tok string) error {
		var err error
		info, err = c.LockMeeting(ctx, tok, m.info.ID, locked)
		return err
	})
	if err != nil {
		return err
	}
	mc.mu.Lock()
	m.info.Locked = info.Locked
	mc.mu.Unlock()
	mc.log.Info("meeting lock", "meeting", m.info.ID, "locked", info.Locked)
	mc.events.changed()
	return nil
}

// muteParticipant mutes one participant's microphone (identity), or
// everybody's but the room's with identity "".
func (mc *meetingControl) muteParticipant(ctx context.Context, identity string) error {
	m, err := mc.organised()
	if err != nil {
		return err
	}
	return mc.link.withToken(ctx, func(c *portalapi.Client, tok string) error {
		if identity == "" {
			return c.MuteAll(ctx, tok, m.info.ID)
		}
		return c.Mute(ctx, tok, m.info.ID, identity)
	})
}

// endForAll ends the meeting the room organises for everyone (the
// portal closes it on LiveKit, which disconnects every participant) and
// returns the kit home. The kit leaves even when the portal cannot end
// it, so End always gets the room out; the error then says the others
// may still be in the meeting.
func (mc *meetingControl) endForAll(ctx context.Context) error {
	m, err := mc.organised()
	if err != nil {
		return err
	}
	err = mc.link.withToken(ctx, func(c *portalapi.Client, tok string) error {
		return c.EndMeeting(ctx, tok, m.info.ID)
	})
	mc.leaveMeeting(m, noticeEnded)
	if err != nil {
		mc.log.Warn("end meeting", "meeting", m.info.ID, "err", err)
		return fmt.Errorf("left, but could not end the meeting for everyone: %w", err)
	}
	mc.log.Info("ended meeting", "meeting", m.info.ID)
	return nil
}

// refreshUpcoming keeps the home screen's list of today's meetings: at
// once (the kit was just paired, or just started), every minute, and
// after a meeting.
func (mc *meetingControl) refreshUpcoming(ctx context.Context) {
	for {
		var ms []portalapi.Meeting
		err := mc.link.withToken(ctx, func(c *portalapi.Client, tok string) error {
			var err error
			ms, err = c.Meetings(ctx, tok)
			return err
		})
		if ctx.Err() != nil {
			return
		}
		if mc.listed != nil {
			mc.listed(mc.now(), err)
		}
		if err != nil {
			// The list stays as it was; the heartbeat says whether the
			// portal is there.
			mc.log.Warn("cannot list today's meetings", "err", err)
		} else {
			mc.mu.Lock()
			mc.upcoming = ms
			mc.mu.Unlock()
			mc.events.changed()
		}
		t := time.NewTimer(meetingsRefresh)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-mc.wake:
			t.Stop()
		}
	}
}

func (mc *meetingControl) refreshSoon() {
	select {
	case mc.wake <- struct{}{}:
	default:
	}
}

// upcomingAt is the list the home screen shows: today's meetings that
// have not ended at now, in the portal's order.
func (mc *meetingControl) upcomingAt(now time.Time) []portalapi.Meeting {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	var out []portalapi.Meeting
	for _, m := range mc.upcoming {
		if m.End.IsZero() || m.End.After(now) {
			out = append(out, m)
		}
	}
	return out
}

// levels are the room's microphone and volume, in a meeting or not.
func (mc *meetingControl) levels() (muted bool, volume int) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.muted, mc.volume
}

// state is a snapshot of the meeting, nil outside one. The session is
// asked without mc.mu held: it has locks of its own and talks to
// LiveKit's SDK.
func (mc *meetingControl) state() *meetingState {
	m := mc.current()
	if m == nil {
		return nil
	}
	tiles, ps, conn, stats := m.sess.Tiles(), m.sess.Participants(), m.sess.Connection(), m.sess.Stats()
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.meet != m {
		return nil
	}
	s := &meetingState{Info: m.info, Organizer: m.organizer, CameraOff: m.cameraOff, Muted: mc.muted, Volume: mc.volume,
		Connection: conn, Reconnects: stats.Reconnects, Participants: ps, Tiles: tiles}
	if m.self != nil && !m.cameraOff {
		s.Self = m.self.Latest()
	}
	return s
}
