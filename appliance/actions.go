package appliance

// The action table: what each tap or key (a ui.Action, from the UI's hit
// test) does. Handlers run on the screen goroutine with its state s; what
// talks to the portal or LiveKit runs on a goroutine of its own, and
// reports back by posting to the screen. Tapping Meet Now goes:
// runScreen (screen.go) → act → tapMeetNow → meetingControl.meetNow
// (meetings.go).

import (
	"context"
	"errors"
	"time"

	"roomkit/portalapi"
	"roomkit/ui"
)

// volumeStep is one tap of − or +.
const volumeStep = 10

// controlTimeout bounds an organiser's request from a tap.
const controlTimeout = 20 * time.Second

// actions maps each action to its handler. An action the screen shows
// only in a meeting is wrapped in inMeetingOnly.
var actions = map[ui.ActionKind]func(k *Kit, s *screenState, a ui.Action){
	// Home and keypad.
	ui.MeetNow:         tapMeetNow,
	ui.Join:            tapJoin,
	ui.StartMeeting:    tapStartMeeting,
	ui.KeypadDigit:     tapKeypadDigit,
	ui.KeypadBackspace: tapKeypadBackspace,
	ui.KeypadJoin:      tapKeypadJoin,
	ui.KeypadCancel:    tapKeypadCancel,

	// Settings and the factory reset.
	ui.OpenSettings:   func(k *Kit, s *screenState, a ui.Action) { s.settings = true },
	ui.CloseSettings:  func(k *Kit, s *screenState, a ui.Action) { s.settings = false },
	ui.PlayTone:       func(k *Kit, s *screenState, a ui.Action) { k.playTone(s) },
	ui.OpenReset:      func(k *Kit, s *screenState, a ui.Action) { s.confirming = true },
	ui.CancelReset:    func(k *Kit, s *screenState, a ui.Action) { s.confirming = false },
	ui.ConfirmedReset: func(k *Kit, s *screenState, a ui.Action) { s.confirming = false; k.requestReset() },

	// In a meeting.
	ui.Leave:              inMeetingOnly(tapLeave),
	ui.EndMeeting:         inMeetingOnly(tapEndMeeting),
	ui.ToggleMute:         inMeetingOnly(tapToggleMute),
	ui.ToggleCamera:       inMeetingOnly(tapToggleCamera),
	ui.VolumeDown:         inMeetingOnly(tapVolume(-volumeStep)),
	ui.VolumeUp:           inMeetingOnly(tapVolume(+volumeStep)),
	ui.ToggleParticipants: inMeetingOnly(togglePanel(ui.ParticipantsPanel)),
	ui.ToggleInvite:       inMeetingOnly(togglePanel(ui.InvitePanel)),
	ui.ClosePanel:         inMeetingOnly(func(k *Kit, s *screenState, a ui.Action, m *meetingState) { s.panel = ui.NoPanel }),
	ui.MuteParticipant:    inMeetingOnly(tapMuteParticipant),
	ui.MuteAll:            inMeetingOnly(tapMuteAll),
	ui.ToggleLock:         inMeetingOnly(tapToggleLock),
}

// act does what a tap or key asked for.
func (k *Kit) act(s *screenState, a ui.Action) {
	do := actions[a.Kind]
	if do == nil {
		return // ui.None: a tap on nothing
	}
	k.log.Info("tap", "action", a.String())
	do(k, s, a)
}

// atHome reports whether the kit is ready and not in a meeting: where
// Meet Now, Join and the list of today's meetings are.
func (k *Kit) atHome() bool {
	return k.state() == Ready && k.meetings.current() == nil
}

func tapMeetNow(k *Kit, s *screenState, a ui.Action) {
	if k.atHome() && !k.meetings.busy() {
		k.goMeeting("meet now", k.meetings.meetNow, nil)
	}
}

func tapJoin(k *Kit, s *screenState, a ui.Action) {
	if k.atHome() {
		s.keypad = &ui.KeypadView{}
	}
}

func tapStartMeeting(k *Kit, s *screenState, a ui.Action) {
	ms := k.meetings.upcomingAt(k.now())
	if k.atHome() && !k.meetings.busy() && a.Index >= 0 && a.Index < len(ms) {
		id := ms[a.Index].ID
		k.goMeeting("start meeting", func(ctx context.Context) error { return k.meetings.joinID(ctx, id) }, nil)
	}
}

func tapKeypadDigit(k *Kit, s *screenState, a ui.Action) {
	if kp := s.keypad; kp != nil && !kp.Busy && len(kp.Digits) < 9 && a.Index >= 0 && a.Index <= 9 {
		kp.Digits += string(rune('0' + a.Index))
		kp.Error = ""
	}
}

func tapKeypadBackspace(k *Kit, s *screenState, a ui.Action) {
	if kp := s.keypad; kp != nil && !kp.Busy && kp.Digits != "" {
		kp.Digits = kp.Digits[:len(kp.Digits)-1]
		kp.Error = ""
	}
}

func tapKeypadJoin(k *Kit, s *screenState, a ui.Action) {
	if kp := s.keypad; kp != nil && !kp.Busy && len(kp.Digits) == 9 && !k.meetings.busy() {
		kp.Busy, kp.Error = true, ""
		id := kp.Digits
		k.goMeeting("join", func(ctx context.Context) error { return k.meetings.joinID(ctx, id) }, kp)
	}
}

func tapKeypadCancel(k *Kit, s *screenState, a ui.Action) {
	if kp := s.keypad; kp != nil && kp.Busy {
		k.meetings.cancelJoin()
	}
	s.keypad = nil
}

// inMeetingOnly makes do a handler that runs only in a meeting, with a
// snapshot of it.
func inMeetingOnly(do func(k *Kit, s *screenState, a ui.Action, m *meetingState)) func(k *Kit, s *screenState, a ui.Action) {
	return func(k *Kit, s *screenState, a ui.Action) {
		if m := k.meetings.state(); m != nil {
			do(k, s, a, m)
		}
	}
}

func tapLeave(k *Kit, s *screenState, a ui.Action, m *meetingState) {
	k.devWG.Go(func() { k.meetings.leave() })
}

func tapEndMeeting(k *Kit, s *screenState, a ui.Action, m *meetingState) {
	// The screen offers End to the organiser alone; anyone else's End
	// (a stale tap) is a Leave.
	if !m.Organizer {
		tapLeave(k, s, a, m)
		return
	}
	k.goControl("end meeting", k.meetings.endForAll)
}

func tapToggleMute(k *Kit, s *screenState, a ui.Action, m *meetingState) {
	k.devWG.Go(func() { k.meetings.setMuted(func(muted bool) bool { return !muted }) })
}

func tapToggleCamera(k *Kit, s *screenState, a ui.Action, m *meetingState) {
	off := !m.CameraOff
	k.devWG.Go(func() { k.meetings.setCameraOff(off) })
}

func tapVolume(step int) func(k *Kit, s *screenState, a ui.Action, m *meetingState) {
	return func(k *Kit, s *screenState, a ui.Action, m *meetingState) {
		k.meetings.setVolume(func(v int) int { return v + step })
	}
}

func togglePanel(p ui.Panel) func(k *Kit, s *screenState, a ui.Action, m *meetingState) {
	return func(k *Kit, s *screenState, a ui.Action, m *meetingState) {
		if s.panel == p {
			s.panel = ui.NoPanel
		} else {
			s.panel = p
		}
	}
}

func tapMuteParticipant(k *Kit, s *screenState, a ui.Action, m *meetingState) {
	if a.Index >= 0 && a.Index < len(s.shown) {
		id := s.shown[a.Index]
		k.goControl("mute "+id, func(ctx context.Context) error { return k.meetings.muteParticipant(ctx, id) })
	}
}

func tapMuteAll(k *Kit, s *screenState, a ui.Action, m *meetingState) {
	k.goControl("mute all", func(ctx context.Context) error { return k.meetings.muteParticipant(ctx, "") })
}

func tapToggleLock(k *Kit, s *screenState, a ui.Action, m *meetingState) {
	locked := !m.Info.Locked
	k.goControl("lock", func(ctx context.Context) error { return k.meetings.lock(ctx, locked) })
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
		until := k.now().Add(2 * noticeFor)
		k.screen.post(k, func(s *screenState) {
			if kp == nil {
				s.notice, s.noticeUntil = line, until
				return
			}
			kp.Busy = false
			if s.keypad == kp {
				kp.Error = line
			}
		})
	})
}

// goControl runs an organiser's request for a tap; a failure is shown
// in the meeting's banner for a moment.
func (k *Kit) goControl(what string, fn func(context.Context) error) {
	ctx := k.runCtx
	k.devWG.Go(func() {
		cctx, cancel := context.WithTimeout(ctx, controlTimeout)
		defer cancel()
		if err := fn(cctx); err != nil && ctx.Err() == nil {
			k.log.Warn(what+" failed", "err", err)
			screenEvents{k}.notice(k.meetingErrorLine(err), noticeFor)
		}
	})
}

// meetingErrorLine says in words why a meeting request failed: the
// portal's own words when it refused.
func (k *Kit) meetingErrorLine(err error) string {
	var me *portalapi.MeetingError
	switch {
	case errors.As(err, &me):
		return me.Message
	case errors.Is(err, portalapi.ErrUnreachable), errors.Is(err, portalapi.ErrBadAnswer), errors.As(err, new(*portalapi.OAuthError)):
		return k.link.failureLine(err)
	}
	return err.Error()
}
