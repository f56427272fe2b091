package appliance

import (
	"log/slog"
	"testing"

	"roomkit/appliance/meeting"
	"roomkit/drivers/display/displaytest"
	"roomkit/portalapi"
	"roomkit/ui"
)

// newScreenKit is a kit that is not running: the test is its screen
// goroutine, and owns the screen state it returns.
func newScreenKit(t *testing.T, st State) (*Kit, *screenState) {
	t.Helper()
	k, err := New(Config{StateDir: t.TempDir(), PortalURL: "https://portal.example", Version: "0.1.0-test",
		Display: displaytest.New(testSize.X, testSize.Y), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	k.st = st
	return k, k.screen.state
}

// inFakeMeeting puts k in a meeting the room organises, on a fake
// session.
func inFakeMeeting(k *Kit) *fakeSession {
	sess := &fakeSession{conn: meeting.Connected, volume: -1}
	k.meetings.meet = &inMeeting{sess: sess, info: portalapi.Meeting{ID: "111222333", Title: "Meet Now"}, organizer: true,
		release: func() {}, stop: func() {}}
	return sess
}

func digits(ds string) []ui.Action {
	var as []ui.Action
	for _, d := range ds {
		as = append(as, ui.Action{Kind: ui.KeypadDigit, Index: int(d - '0')})
	}
	return as
}

func taps(kinds ...ui.ActionKind) []ui.Action {
	var as []ui.Action
	for _, kd := range kinds {
		as = append(as, ui.Action{Kind: kd})
	}
	return as
}

// TestScreenActions: taps through the action table, on the screen state
// alone; what the screen then shows is the view the test checks.
func TestScreenActions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		state   State
		meeting bool
		taps    []ui.Action
		screen  ui.Screen
		check   func(t *testing.T, k *Kit, s *screenState, v ui.View)
	}{
		{"Join opens the keypad", Ready, false, taps(ui.Join), ui.Keypad, nil},
		{"nine digits at most, and backspace", Ready, false, append(append(taps(ui.Join), digits("1234567890")...), taps(ui.KeypadBackspace)...), ui.Keypad,
			func(t *testing.T, k *Kit, s *screenState, v ui.View) {
				if v.Keypad.Digits != "12345678" {
					t.Errorf("digits %q", v.Keypad.Digits)
				}
			}},
		{"the keypad's Cancel goes home", Ready, false, taps(ui.Join, ui.KeypadCancel), ui.Home, nil},
		{"no keypad while pairing", Pairing, false, taps(ui.Join, ui.KeypadDigit), ui.Pairing, func(t *testing.T, k *Kit, s *screenState, v ui.View) {
			if s.keypad != nil {
				t.Error("a keypad behind the pairing screen")
			}
		}},
		{"Meet Now while pairing does nothing", Pairing, false, taps(ui.MeetNow), ui.Pairing, func(t *testing.T, k *Kit, s *screenState, v ui.View) {
			if k.meetings.busy() {
				t.Error("joining")
			}
		}},
		{"Settings, reset asked and cancelled", Ready, false, taps(ui.OpenSettings, ui.OpenReset, ui.CancelReset), ui.Settings, func(t *testing.T, k *Kit, s *screenState, v ui.View) {
			if k.resetPending() {
				t.Error("a reset after Cancel")
			}
		}},
		{"reset confirmed", Ready, false, taps(ui.OpenSettings, ui.OpenReset, ui.ConfirmedReset), ui.Settings, func(t *testing.T, k *Kit, s *screenState, v ui.View) {
			if !k.resetPending() {
				t.Error("no reset asked for")
			}
		}},
		{"the reset confirmation covers the meeting", Ready, true, taps(ui.OpenReset), ui.ConfirmReset, nil},
		{"the participants panel opens", Ready, true, taps(ui.ToggleParticipants), ui.InMeeting, func(t *testing.T, k *Kit, s *screenState, v ui.View) {
			if v.Meeting.Panel != ui.ParticipantsPanel {
				t.Errorf("panel %v", v.Meeting.Panel)
			}
		}},
		{"and closes again", Ready, true, taps(ui.ToggleParticipants, ui.ToggleInvite, ui.ClosePanel), ui.InMeeting, func(t *testing.T, k *Kit, s *screenState, v ui.View) {
			if v.Meeting.Panel != ui.NoPanel {
				t.Errorf("panel %v", v.Meeting.Panel)
			}
		}},
		{"panels need a meeting", Ready, false, taps(ui.ToggleParticipants), ui.Home, func(t *testing.T, k *Kit, s *screenState, v ui.View) {
			if s.panel != ui.NoPanel {
				t.Errorf("panel %v outside a meeting", s.panel)
			}
		}},
		{"volume steps", Ready, true, taps(ui.VolumeUp, ui.VolumeUp, ui.VolumeUp, ui.VolumeDown), ui.InMeeting, func(t *testing.T, k *Kit, s *screenState, v ui.View) {
			_, _, vol, _ := k.meetings.meet.sess.(*fakeSession).state()
			if v.Meeting.Volume != 90 || vol != 90 {
				t.Errorf("volume shown %d, session %d; want 90", v.Meeting.Volume, vol)
			}
		}},
		{"a keypad join that fails says why on the keypad", Ready, false, append(append(taps(ui.Join), digits("987654321")...), taps(ui.KeypadJoin)...), ui.Keypad,
			func(t *testing.T, k *Kit, s *screenState, v ui.View) {
				// This kit has no portal client: the join fails.
				if v.Keypad.Busy || v.Keypad.Error != ErrNotReady.Error() {
					t.Errorf("keypad %+v; want %q, not busy", v.Keypad, ErrNotReady)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, s := newScreenKit(t, tc.state)
			if tc.meeting {
				inFakeMeeting(k)
			}
			for _, a := range tc.taps {
				k.act(s, a)
			}
			// What the taps started has ended and posted its result.
			k.devWG.Wait()
			k.screen.apply()
			v := k.viewOf(s)
			if v.Screen != tc.screen {
				t.Fatalf("screen %v, want %v", v.Screen, tc.screen)
			}
			if tc.check != nil {
				tc.check(t, k, s, v)
			}
		})
	}
}

// TestScreenEvents: what the rest of the kit posts to the screen.
func TestScreenEvents(t *testing.T) {
	for _, tc := range []struct {
		name  string
		post  func(k *Kit)
		check func(s *screenState) bool
	}{
		{"a notice shows", func(k *Kit) { screenEvents{k}.notice(noticeEnded, noticeFor) }, func(s *screenState) bool { return s.notice == noticeEnded }},
		{"its end takes it away", func(k *Kit) {
			screenEvents{k}.notice(noticeJoining, joinTimeout)
			screenEvents{k}.notice(noticeJoining, 0)
		}, func(s *screenState) bool { return s.notice == "" }},
		{"another notice stays", func(k *Kit) {
			screenEvents{k}.notice(noticeJoining, joinTimeout)
			screenEvents{k}.notice("Cannot reach the portal", noticeFor)
			screenEvents{k}.notice(noticeJoining, 0)
		}, func(s *screenState) bool { return s.notice == "Cannot reach the portal" }},
		{"joining closes the overlays", func(k *Kit) {
			k.screen.post(k, func(s *screenState) {
				s.keypad, s.settings, s.confirming, s.panel = &ui.KeypadView{}, true, true, ui.InvitePanel
			})
			screenEvents{k}.joined()
		}, func(s *screenState) bool {
			return s.keypad == nil && !s.settings && !s.confirming && s.panel == ui.NoPanel
		}},
		{"a late device test result is dropped", func(k *Kit) {
			k.setTest(0, func(s *screenState) { s.micLevel = 0.5 })
			k.screen.post(k, func(s *screenState) { s.testGen++ })
			k.setTest(0, func(s *screenState) { s.micLevel = 0.9 })
		}, func(s *screenState) bool { return s.micLevel == 0.5 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, s := newScreenKit(t, Ready)
			tc.post(k)
			k.screen.apply()
			if !tc.check(s) {
				t.Errorf("screen state %+v", s)
			}
		})
	}
}
