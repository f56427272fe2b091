package appliance

// The in-meeting state: Meet Now, join by ID (the keypad), the room's
// meetings today on the home screen, and the meeting itself — the
// session on LiveKit (package meeting) with the kit's camera and
// speakerphone, its controls, and what the screen and the control API
// show of it.
//
//	ready ──(Meet Now, Join, Start)──► in-meeting ──(Leave, End, the
//	  ▲                                    │         meeting ended)
//	  └────────────────────────────────────┘
//
// Joining does not change the state: the kit stays ready (home or
// keypad, showing that it is busy) until the session is up, so a join
// that fails leaves the room exactly where it was.

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/http"
	"sync/atomic"
	"time"

	"roomkit/appliance/meeting"
	"roomkit/drivers/audio"
	"roomkit/drivers/camera"
	"roomkit/provisioning"
	"roomkit/ui"
)

const (
	// joinTimeout bounds asking the portal and connecting to LiveKit.
	joinTimeout = 45 * time.Second
	// meetingFrameInterval paces the in-meeting screen: remote video
	// moves, 15 frames a second is smooth enough for tiles, and a frame
	// is only drawn when a picture changed (see screen).
	meetingFrameInterval = time.Second / 15
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
	// volumeStep is one tap of − or +.
	volumeStep = 10
	// defaultVolume is the speaker drivers' own default gain.
	defaultVolume = 70
)

// Errors of the meeting controls, as the control API shows them.
var (
	ErrNotInMeeting = errors.New("not in a meeting")
	ErrInMeeting    = errors.New("already in a meeting: leave it first")
	ErrJoining      = errors.New("already joining a meeting")
	ErrNotReady     = errors.New("the kit is not paired with a room yet")
	ErrNotOrganizer = errors.New("only the meeting's organiser can do that")
)

// Lines the screen shows.
const (
	noticeStarting   = "Starting the meeting…"
	noticeJoining    = "Joining the meeting…"
	noticeEnded      = "The meeting ended."
	lineReconnecting = "Reconnecting…"
	lineDisconnected = "Disconnected"
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

// inMeeting is the meeting the kit is in.
type inMeeting struct {
	sess      session
	info      provisioning.Meeting
	organizer bool
	self      *selfCam // nil without a camera
	release   func()   // gives the camera back to the kit's own reads
	stop      context.CancelFunc
	panel     ui.Panel
	cameraOff bool
	shown     []string // the participants panel's identities, as last drawn
	ending    bool     // Leave is under way
}

// MeetingStatus is the meeting part of Status.
type MeetingStatus struct {
	ID           string                `json:"id"`
	Title        string                `json:"title"`
	JoinURL      string                `json:"join_url"`
	Organizer    bool                  `json:"organizer"`
	Locked       bool                  `json:"locked"`
	Muted        bool                  `json:"muted"`
	CameraOff    bool                  `json:"camera_off"`
	Volume       int                   `json:"volume"`
	Connection   string                `json:"connection"`
	Reconnects   int64                 `json:"reconnects"` // times the connection came back
	Participants []meeting.Participant `json:"participants"`
	// Tiles is what the screen shows of the others: one per camera, and
	// one for a shared screen (Content).
	Tiles []TileStatus `json:"tiles"`
	// Sharing names who shares a screen, shown large (the content layout).
	Sharing string `json:"sharing,omitempty"`
}

// TileStatus is one video on the kit's screen.
type TileStatus struct {
	Identity    string `json:"identity"`
	Name        string `json:"name"`
	Picture     bool   `json:"picture"`               // a decoded picture is shown
	Placeholder string `json:"placeholder,omitempty"` // why there is none
	Content     bool   `json:"content,omitempty"`     // a shared screen
}

// UpcomingStatus is one of the room's meetings today.
type UpcomingStatus struct {
	ID    string    `json:"id"`
	Title string    `json:"title"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// MeetNow starts an instant meeting and joins it. It returns once the
// kit is in the meeting, or why it is not.
func (k *Kit) MeetNow(ctx context.Context) error {
	return k.join(ctx, noticeStarting, func(ctx context.Context, c *provisioning.Client, tok string) (*provisioning.MeetingJoin, error) {
		return c.MeetNow(ctx, tok)
	})
}

// JoinMeeting joins the meeting id ("123456789" or "123-456-789"). A
// refusal by the portal is a *provisioning.MeetingError in its words.
func (k *Kit) JoinMeeting(ctx context.Context, id string) error {
	return k.join(ctx, noticeJoining, func(ctx context.Context, c *provisioning.Client, tok string) (*provisioning.MeetingJoin, error) {
		return c.JoinMeeting(ctx, tok, id)
	})
}

func (k *Kit) join(ctx context.Context, notice string, ask func(context.Context, *provisioning.Client, string) (*provisioning.MeetingJoin, error)) error {
	k.mu.Lock()
	switch {
	case k.state == InMeeting:
		k.mu.Unlock()
		return ErrInMeeting
	case k.state != Ready:
		k.mu.Unlock()
		return ErrNotReady
	case k.joining:
		k.mu.Unlock()
		return ErrJoining
	}
	jctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	k.joining, k.joinCancel = true, cancel
	k.notice, k.noticeUntil = notice, k.now().Add(joinTimeout)
	k.mu.Unlock()
	k.signal()
	defer func() {
		k.mu.Lock()
		k.joining, k.joinCancel = false, nil
		if k.notice == notice {
			k.notice, k.noticeUntil = "", time.Time{}
		}
		k.mu.Unlock()
		k.signal()
	}()

	var ans *provisioning.MeetingJoin
	step := func(string) {}
	if k.cfg.OnJoinStep != nil {
		step = k.cfg.OnJoinStep
	}
	err := k.withToken(jctx, func(c *provisioning.Client, tok string) error {
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
	k.log.Info("joining meeting", "meeting", ans)

	release := k.holdCamera()
	cfg := meeting.Config{URL: ans.URL, Token: ans.Token, Logger: k.log.With("meeting", ans.Meeting.ID), OnChange: k.signal,
		Renew: k.renewMeeting(ans.Meeting.ID), OnStep: func(s meeting.Step) { step(string(s)) }}
	var self *selfCam
	if k.cfg.Camera != nil {
		self = newSelfCam(k.cfg.Camera)
		cfg.Camera = self
	}
	if k.cfg.Speakerphone != nil {
		// The microphone is silenced here as well as in the session, so
		// that a muted room is never heard, not even in the moment
		// between joining and the session learning that it is muted.
		cfg.Speakerphone = &muteGate{Speakerphone: k.cfg.Speakerphone, muted: &k.micGate}
	}
	sess, err := k.joinSession(jctx, cfg)
	if err != nil {
		release()
		if ctx.Err() == nil && jctx.Err() != nil && k.joinCancelled(jctx) {
			return errors.New("join: cancelled")
		}
		return fmt.Errorf("cannot connect to the meeting: %w", err)
	}

	mctx, stop := context.WithCancel(context.Background())
	m := &inMeeting{sess: sess, info: ans.Meeting, organizer: ans.Meeting.Organizer != "" && ans.Meeting.Organizer == k.roomID(),
		self: self, release: release, stop: stop}
	k.muteMu.Lock()
	k.mu.Lock()
	if k.state != Ready || jctx.Err() != nil {
		// Unpaired, reset or cancelled while connecting.
		k.mu.Unlock()
		k.muteMu.Unlock()
		stop()
		sess.Leave()
		release()
		return errors.New("join: cancelled")
	}
	k.meet = m
	k.state = InMeeting
	k.keypad, k.settings, k.confirming = nil, false, false
	muted := k.muted
	k.mu.Unlock()
	sess.SetMuted(muted)
	k.muteMu.Unlock()
	k.log.Info("in meeting", "meeting", ans.Meeting.ID, "title", ans.Meeting.Title, "organizer", m.organizer)
	k.devWG.Go(func() { k.watchMeeting(mctx, m) })
	k.signal()
	return nil
}

// renewMeeting asks the portal to let the kit into meeting id again, for
// the session's rejoin: a fresh token (the first one lives minutes), and
// the portal opens the LiveKit room again if the SFU lost it. A meeting
// that ended or is gone means the kit is out of it. A lock (or a full
// meeting) refuses new tokens only: a kit that was in at the lock may
// come back with the token it has, so the session keeps trying with it.
func (k *Kit) renewMeeting(id string) func(ctx context.Context) (string, string, error) {
	return func(ctx context.Context) (string, string, error) {
		var ans *provisioning.MeetingJoin
		err := k.withToken(ctx, func(c *provisioning.Client, tok string) error {
			var err error
			ans, err = c.JoinMeeting(ctx, tok, id)
			return err
		})
		var me *provisioning.MeetingError
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

// joinCancelled reports whether the join was cancelled (the keypad's
// Cancel) rather than timed out.
func (k *Kit) joinCancelled(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}

// roomID is the paired room's ID: a meeting it organises names it.
func (k *Kit) roomID() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if r := k.saved.Room; r != nil {
		return r.ID
	}
	return ""
}

// watchMeeting returns the kit home when the meeting ends by itself (the
// server ended it, or the room was removed from it).
func (k *Kit) watchMeeting(ctx context.Context, m *inMeeting) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m.sess.Connection() == meeting.Disconnected {
			k.log.Warn("the meeting ended by itself", "meeting", m.info.ID)
			k.leave(m, noticeEnded)
			return
		}
	}
}

// Leave leaves the meeting and returns the kit to the home screen.
func (k *Kit) Leave() error {
	k.mu.Lock()
	m := k.meet
	k.mu.Unlock()
	if m == nil {
		return ErrNotInMeeting
	}
	k.leave(m, "")
	return nil
}

// leave ends m (if it is still the kit's meeting) and returns home with
// notice. It returns once the session is gone and the camera is back.
func (k *Kit) leave(m *inMeeting, notice string) {
	k.mu.Lock()
	if k.meet != m || m.ending {
		k.mu.Unlock()
		return
	}
	m.ending = true
	k.mu.Unlock()
	m.stop()
	if err := m.sess.Leave(); err != nil {
		k.log.Warn("leave meeting", "meeting", m.info.ID, "err", err)
	}
	m.release()
	k.mu.Lock()
	if k.meet == m {
		k.meet = nil
		if k.state == InMeeting {
			k.state = Ready
		}
		if notice != "" {
			k.notice, k.noticeUntil = notice, k.now().Add(noticeFor)
		}
	}
	k.mu.Unlock()
	k.log.Info("left meeting", "meeting", m.info.ID)
	k.refreshMeetingsSoon()
	k.signal()
}

// endMeetingLocked ends the meeting because the kit is leaving the ready
// state (unpaired, reset): the session is left in the background.
func (k *Kit) endMeetingLocked() {
	m := k.meet
	if m == nil {
		if k.joinCancel != nil {
			k.joinCancel()
		}
		return
	}
	k.meet = nil
	m.ending = true
	k.devWG.Go(func() {
		m.stop()
		m.sess.Leave()
		m.release()
	})
}

// SetMuted mutes or unmutes the room's microphone, in a meeting or not
// (the mute LED shows it either way; a meeting joined later applies it).
func (k *Kit) SetMuted(muted bool) {
	k.setMuted(func(bool) bool { return muted })
}

// SetCameraOff turns the room's camera off (no frame leaves the kit) or
// on again in the meeting.
func (k *Kit) SetCameraOff(off bool) error {
	k.mu.Lock()
	m := k.meet
	if m == nil {
		k.mu.Unlock()
		return ErrNotInMeeting
	}
	m.cameraOff = off
	k.mu.Unlock()
	if m.self != nil {
		m.self.setOff(off)
	}
	m.sess.SetCameraOff(off)
	k.log.Info("camera", "off", off)
	k.signal()
	return nil
}

// SetVolume sets the speaker's volume, 0–100.
func (k *Kit) SetVolume(percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("volume %d: want 0 to 100", percent)
	}
	k.mu.Lock()
	k.volume = percent
	m := k.meet
	k.mu.Unlock()
	if m != nil {
		m.sess.SetVolume(percent)
	} else if sp := k.cfg.Speakerphone; sp != nil {
		sp.SetVolume(percent)
	}
	k.signal()
	return nil
}

// LockMeeting locks or unlocks the meeting the room organises.
func (k *Kit) LockMeeting(ctx context.Context, locked bool) error {
	m, err := k.organised()
	if err != nil {
		return err
	}
	var info provisioning.Meeting
	err = k.withToken(ctx, func(c *provisioning.Client, tok string) error {
		var err error
		info, err = c.LockMeeting(ctx, tok, m.info.ID, locked)
		return err
	})
	if err != nil {
		return err
	}
	k.mu.Lock()
	m.info.Locked = info.Locked
	k.mu.Unlock()
	k.log.Info("meeting lock", "meeting", m.info.ID, "locked", info.Locked)
	k.signal()
	return nil
}

// MuteParticipant mutes one participant's microphone (identity), or
// everybody's but the room's with identity "".
func (k *Kit) MuteParticipant(ctx context.Context, identity string) error {
	m, err := k.organised()
	if err != nil {
		return err
	}
	return k.withToken(ctx, func(c *provisioning.Client, tok string) error {
		if identity == "" {
			return c.MuteAll(ctx, tok, m.info.ID)
		}
		return c.Mute(ctx, tok, m.info.ID, identity)
	})
}

// EndMeeting ends the meeting the room organises for everyone (the
// portal closes it on LiveKit, which disconnects every participant) and
// returns the kit home. The kit leaves even when the portal cannot end
// it, so End always gets the room out; the error then says the others
// may still be in the meeting.
func (k *Kit) EndMeeting(ctx context.Context) error {
	m, err := k.organised()
	if err != nil {
		return err
	}
	err = k.withToken(ctx, func(c *provisioning.Client, tok string) error {
		return c.EndMeeting(ctx, tok, m.info.ID)
	})
	k.leave(m, noticeEnded)
	if err != nil {
		k.log.Warn("end meeting", "meeting", m.info.ID, "err", err)
		return fmt.Errorf("left, but could not end the meeting for everyone: %w", err)
	}
	k.log.Info("ended meeting", "meeting", m.info.ID)
	return nil
}

func (k *Kit) organised() (*inMeeting, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.meet == nil:
		return nil, ErrNotInMeeting
	case !k.meet.organizer:
		return nil, ErrNotOrganizer
	}
	return k.meet, nil
}

// withToken calls fn with the portal client and a current access token,
// once more with a fresh token if the portal refused the one it had.
func (k *Kit) withToken(ctx context.Context, fn func(c *provisioning.Client, tok string) error) error {
	for try := 0; ; try++ {
		c, tok, err := k.accessToken(ctx)
		if err != nil {
			return err
		}
		err = fn(c, tok.AccessToken)
		if errors.Is(err, provisioning.ErrInvalidToken) && try == 0 {
			k.mu.Lock()
			if k.token == tok {
				k.token = nil
			}
			k.mu.Unlock()
			continue
		}
		return err
	}
}

// refreshMeetings keeps the home screen's list of today's meetings: at
// once (the kit was just paired, or just started), every minute, and
// after a meeting.
func (k *Kit) refreshMeetings(ctx context.Context) {
	for {
		var ms []provisioning.Meeting
		err := k.withToken(ctx, func(c *provisioning.Client, tok string) error {
			var err error
			ms, err = c.Meetings(ctx, tok)
			return err
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// The list stays as it was; the heartbeat says whether the
			// portal is there.
			k.log.Warn("cannot list today's meetings", "err", err)
		} else {
			k.mu.Lock()
			k.upcoming = ms
			k.mu.Unlock()
			k.signal()
		}
		t := time.NewTimer(meetingsRefresh)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-k.meetingsWake:
			t.Stop()
		}
	}
}

func (k *Kit) refreshMeetingsSoon() {
	select {
	case k.meetingsWake <- struct{}{}:
	default:
	}
}

// upcomingLocked is the list the home screen shows: today's meetings
// that have not ended, in the portal's order.
func (k *Kit) upcomingLocked(now time.Time) []provisioning.Meeting {
	var out []provisioning.Meeting
	for _, m := range k.upcoming {
		if m.End.IsZero() || m.End.After(now) {
			out = append(out, m)
		}
	}
	return out
}

// actMeeting handles the keypad's, the home list's and the meeting's
// actions. It runs on the screen goroutine with k.mu held; what talks to
// the portal or LiveKit runs on a goroutine of its own.
func (k *Kit) actMeetingLocked(a ui.Action) {
	switch a.Kind {
	case ui.MeetNow:
		if k.state == Ready && !k.joining {
			k.goMeeting("meet now", func(ctx context.Context) error { return k.MeetNow(ctx) }, nil)
		}
	case ui.Join:
		if k.state == Ready {
			k.keypad = &ui.KeypadView{}
		}
	case ui.StartMeeting:
		ms := k.upcomingLocked(k.now())
		if k.state == Ready && !k.joining && a.Index >= 0 && a.Index < len(ms) {
			id := ms[a.Index].ID
			k.goMeeting("start meeting", func(ctx context.Context) error { return k.JoinMeeting(ctx, id) }, nil)
		}
	case ui.KeypadDigit:
		if kp := k.keypad; kp != nil && !kp.Busy && len(kp.Digits) < 9 && a.Index >= 0 && a.Index <= 9 {
			kp.Digits += string(rune('0' + a.Index))
			kp.Error = ""
		}
	case ui.KeypadBackspace:
		if kp := k.keypad; kp != nil && !kp.Busy && kp.Digits != "" {
			kp.Digits = kp.Digits[:len(kp.Digits)-1]
			kp.Error = ""
		}
	case ui.KeypadJoin:
		if kp := k.keypad; kp != nil && !kp.Busy && len(kp.Digits) == 9 && !k.joining {
			kp.Busy, kp.Error = true, ""
			id := kp.Digits
			k.goMeeting("join", func(ctx context.Context) error { return k.JoinMeeting(ctx, id) }, kp)
		}
	case ui.KeypadCancel:
		if kp := k.keypad; kp != nil && kp.Busy && k.joinCancel != nil {
			k.joinCancel()
		}
		k.keypad = nil
	}
	m := k.meet
	if m == nil {
		return
	}
	switch a.Kind {
	case ui.Leave:
		k.devWG.Go(func() { k.leave(m, "") })
	case ui.EndMeeting:
		// The screen offers End to the organiser alone; anyone else's End
		// (a stale tap) is a Leave.
		if !m.organizer {
			k.devWG.Go(func() { k.leave(m, "") })
			break
		}
		k.goControl("end meeting", k.EndMeeting)
	case ui.ToggleMute:
		k.devWG.Go(func() { k.setMuted(func(muted bool) bool { return !muted }) })
	case ui.ToggleCamera:
		off := !m.cameraOff
		k.devWG.Go(func() { k.SetCameraOff(off) })
	case ui.VolumeDown, ui.VolumeUp:
		v := k.volume - volumeStep
		if a.Kind == ui.VolumeUp {
			v = k.volume + volumeStep
		}
		v = min(max(v, 0), 100)
		k.volume = v
		m.sess.SetVolume(v)
	case ui.ToggleParticipants:
		m.panel = togglePanel(m.panel, ui.ParticipantsPanel)
	case ui.ToggleInvite:
		m.panel = togglePanel(m.panel, ui.InvitePanel)
	case ui.ClosePanel:
		m.panel = ui.NoPanel
	case ui.MuteParticipant:
		if a.Index >= 0 && a.Index < len(m.shown) {
			id := m.shown[a.Index]
			k.goControl("mute "+id, func(ctx context.Context) error { return k.MuteParticipant(ctx, id) })
		}
	case ui.MuteAll:
		k.goControl("mute all", func(ctx context.Context) error { return k.MuteParticipant(ctx, "") })
	case ui.ToggleLock:
		locked := !m.info.Locked
		k.goControl("lock", func(ctx context.Context) error { return k.LockMeeting(ctx, locked) })
	}
}

func togglePanel(cur, p ui.Panel) ui.Panel {
	if cur == p {
		return ui.NoPanel
	}
	return p
}

// goMeeting runs a join for a tap. Its error is shown on the keypad kp
// (its Error line, in the portal's words) or, from the home screen, as a
// notice.
func (k *Kit) goMeeting(what string, join func(context.Context) error, kp *ui.KeypadView) {
	ctx := k.runCtx
	k.devWG.Go(func() {
		err := join(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		k.log.Warn(what+" failed", "err", err)
		line := k.meetingErrorLine(err)
		k.mu.Lock()
		if kp != nil {
			kp.Busy = false
			if k.keypad == kp {
				kp.Error = line
			}
		} else {
			k.notice, k.noticeUntil = line, k.now().Add(2*noticeFor)
		}
		k.mu.Unlock()
		k.signal()
	})
}

// goControl runs an organiser's request for a tap; a failure is shown
// in the meeting's banner for a moment.
func (k *Kit) goControl(what string, fn func(context.Context) error) {
	ctx := k.runCtx
	k.devWG.Go(func() {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := fn(cctx); err != nil && ctx.Err() == nil {
			k.log.Warn(what+" failed", "err", err)
			k.mu.Lock()
			k.notice, k.noticeUntil = k.meetingErrorLine(err), k.now().Add(noticeFor)
			k.mu.Unlock()
			k.signal()
		}
	})
}

// meetingErrorLine says in words why a meeting request failed: the
// portal's own words when it refused.
func (k *Kit) meetingErrorLine(err error) string {
	var me *provisioning.MeetingError
	switch {
	case errors.As(err, &me):
		return me.Message
	case errors.Is(err, provisioning.ErrUnreachable), errors.Is(err, provisioning.ErrBadAnswer), errors.As(err, new(*provisioning.OAuthError)):
		return k.failureLine(err)
	}
	return err.Error()
}

// meetingViewLocked fills v for the in-meeting screen from the session's
// state (fetched by the caller without k.mu held).
func (k *Kit) meetingViewLocked(v *ui.View, m *inMeeting, tiles []meeting.Tile, ps []meeting.Participant, conn string) {
	mv := &ui.MeetingView{
		ID: m.info.ID, Title: m.info.Title, JoinURL: m.info.JoinURL,
		Organizer: m.organizer, Locked: m.info.Locked,
		Muted: k.muted, CameraOff: m.cameraOff, Volume: k.volume,
		Connection: connectionLine(conn), Panel: m.panel,
	}
	muted := make(map[string]bool, len(ps))
	m.shown = m.shown[:0]
	for _, p := range ps {
		muted[p.Identity] = p.AudioMuted
		mv.Participants = append(mv.Participants, ui.Participant{Name: p.Name, Identity: p.Identity, AudioMuted: p.AudioMuted})
		m.shown = append(m.shown, p.Identity)
	}
	for _, t := range tiles {
		if t.ScreenShare {
			if mv.Content == nil {
				mv.ContentFrom = t.Name
				if t.Frame != nil {
					mv.Content = t.Frame
				} else {
					mv.Content = contentWaiting
				}
			}
			continue
		}
		ut := ui.Tile{Name: t.Name, Placeholder: t.Placeholder, Speaking: t.Speaking, AudioMuted: muted[t.Identity]}
		if t.Frame != nil { // a nil *image.RGBA must stay a nil image.Image
			ut.Frame = t.Frame
		}
		mv.Tiles = append(mv.Tiles, ut)
	}
	if m.self != nil && !m.cameraOff {
		if img := m.self.picture(); img != nil {
			mv.Self = img
		}
	}
	v.Meeting = mv
}

// contentWaiting stands for a shared screen whose first picture has not
// arrived: the layout switches at once.
var contentWaiting = func() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 16, 9))
	for i := range img.Pix {
		img.Pix[i] = 0x10
		if i%4 == 3 {
			img.Pix[i] = 0xff
		}
	}
	return img
}()

func connectionLine(conn string) string {
	switch conn {
	case meeting.Connected:
		return ""
	case meeting.Reconnecting:
		return lineReconnecting
	case meeting.Disconnected:
		return lineDisconnected
	}
	return conn
}

// meetingStatusLocked is the meeting part of Status.
func (k *Kit) meetingStatusLocked(m *inMeeting, tiles []meeting.Tile, ps []meeting.Participant, conn string) *MeetingStatus {
	s := &MeetingStatus{
		ID: m.info.ID, Title: m.info.Title, JoinURL: m.info.JoinURL, Organizer: m.organizer, Locked: m.info.Locked,
		Muted: k.muted, CameraOff: m.cameraOff, Volume: k.volume, Connection: conn,
		Participants: ps, Tiles: []TileStatus{}, Reconnects: m.sess.Stats().Reconnects,
	}
	if s.Participants == nil {
		s.Participants = []meeting.Participant{}
	}
	for _, t := range tiles {
		s.Tiles = append(s.Tiles, TileStatus{Identity: t.Identity, Name: t.Name, Picture: t.Frame != nil, Placeholder: t.Placeholder, Content: t.ScreenShare})
		if t.ScreenShare && s.Sharing == "" {
			s.Sharing = t.Name
		}
	}
	return s
}

// meetingSnapshot reads the session's state without k.mu held: the
// session has locks of its own and talks to LiveKit's SDK.
func (k *Kit) meetingSnapshot() (m *inMeeting, tiles []meeting.Tile, ps []meeting.Participant, conn string) {
	k.mu.Lock()
	m = k.meet
	k.mu.Unlock()
	if m == nil {
		return nil, nil, nil, ""
	}
	return m, m.sess.Tiles(), m.sess.Participants(), m.sess.Connection()
}

// frameSignature identifies the pictures a meeting view shows: the screen
// redraws only when one changed (the session never changes a picture it
// handed out, it hands out a new one).
func frameSignature(mv *ui.MeetingView, sig []image.Image) []image.Image {
	sig = sig[:0]
	for _, t := range mv.Tiles {
		sig = append(sig, t.Frame)
	}
	return append(sig, mv.Content, mv.Self)
}

func sameFrames(a, b []image.Image) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// selfCam is the camera as the meeting reads it, keeping a small copy of
// the last frame it sent for the self-view. Next is called by the
// session's video loop alone; picture by the screen.
type selfCam struct {
	camera.Camera
	off   atomic.Bool
	last  atomic.Pointer[selfPicture]
	conv  camera.Converter
	every time.Duration
	next  time.Time
}

type selfPicture struct{ img image.Image }

func newSelfCam(cam camera.Camera) *selfCam {
	c := &selfCam{Camera: cam, every: selfViewInterval}
	if cam.Info().Format == camera.MJPEG {
		c.every = selfViewIntervalMJPEG
	}
	return c
}

func (c *selfCam) Next(ctx context.Context) (camera.Frame, error) {
	f, err := c.Camera.Next(ctx)
	if err != nil {
		// No frame (the camera was unplugged): the self-view must not
		// keep showing the room as it was.
		c.last.Store(nil)
		return f, err
	}
	if c.off.Load() {
		return f, nil
	}
	if now := time.Now(); now.After(c.next) {
		c.next = now.Add(c.every)
		img, perr := previewImageMax(&c.conv, c.Camera.Info(), f, selfViewMaxWidth)
		switch {
		case errors.Is(perr, errNeedsDecoder):
			img = h264Placeholder()
		case perr != nil:
			img = nil
		}
		if img != nil {
			c.last.Store(&selfPicture{img})
		}
	}
	return f, nil
}

func (c *selfCam) setOff(off bool) {
	c.off.Store(off)
	if off {
		c.last.Store(nil)
	}
}

func (c *selfCam) picture() image.Image {
	if p := c.last.Load(); p != nil {
		return p.img
	}
	return nil
}

// muteGate silences the microphone while the room is muted, under the
// session's own mute (see join).
type muteGate struct {
	audio.Speakerphone
	muted *atomic.Bool
}

func (g *muteGate) Read(ctx context.Context, buf []int16) error {
	err := g.Speakerphone.Read(ctx, buf)
	if g.muted.Load() {
		clear(buf)
	}
	return err
}
