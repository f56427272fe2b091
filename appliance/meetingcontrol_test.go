package appliance

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"roomkit/appliance/meeting"
	"roomkit/drivers/audio"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/gpio/gpiotest"
	"roomkit/portalapi"
)

// recordedEvents is the screen, as the meeting controller sees it: every
// event arrives on a channel the test reads.
type recordedEvents struct {
	notices chan string // shown; "-" + text when taken away
	joins   chan struct{}
}

func newRecordedEvents() *recordedEvents {
	return &recordedEvents{notices: make(chan string, 64), joins: make(chan struct{}, 8)}
}

func (e *recordedEvents) changed() {}
func (e *recordedEvents) joined()  { e.joins <- struct{}{} }
func (e *recordedEvents) notice(text string, d time.Duration) {
	if d == 0 {
		text = "-" + text
	}
	e.notices <- text
}

// next is the next notice event.
func (e *recordedEvents) next(t *testing.T) string {
	t.Helper()
	select {
	case n := <-e.notices:
		return n
	case <-t.Context().Done():
		t.Fatal("no notice")
		return ""
	}
}

// controllerRig is a meeting controller on its own: a paired portal link
// against the fake portal, fake sessions, a synthetic speakerphone and a
// fake GPIO panel.
type controllerRig struct {
	mc     *meetingControl
	p      *fakePortal
	ss     *sessions
	ev     *recordedEvents
	panel  *gpiotest.Panel
	bg     *sync.WaitGroup
	ready  func() bool
	notYet bool // ready answers false
}

func newControllerRig(t *testing.T) *controllerRig {
	t.Helper()
	p := newFakePortal(t)
	sl := newSteppedLink(t, p)
	sl.pairWith(t, p, boardroom, func() {})
	r := &controllerRig{p: p, ss: &sessions{}, ev: newRecordedEvents(), panel: gpiotest.New(4), bg: &sync.WaitGroup{}}
	r.mc = &meetingControl{
		log: slog.New(slog.DiscardHandler), now: time.Now, link: sl.portalLink,
		ready: func() error {
			if r.notYet {
				return ErrNotReady
			}
			return nil
		}, events: r.ev, camFree: func() {},
		mic: audio.NewMuteGate(audiotest.NewSynthetic(440)), gpio: r.panel,
		joinSession: r.ss.join, bg: r.bg, wake: make(chan struct{}, 1), volume: defaultVolume,
	}
	t.Cleanup(func() {
		r.mc.endAll()
		r.bg.Wait()
	})
	return r
}

// TestMeetingControllerJoin: joining, from the controller's side alone.
func TestMeetingControllerJoin(t *testing.T) {
	for _, tc := range []struct {
		name      string
		before    func(r *controllerRig)
		join      func(mc *meetingControl, ctx context.Context) error
		err       error
		organizer bool
		muted     bool
		notice    string
	}{
		{"Meet Now: the room organises", func(r *controllerRig) {}, (*meetingControl).meetNow, nil, true, false, noticeStarting},
		{"join by ID: a guest room", func(r *controllerRig) {
			r.p.addMeeting(portalapi.Meeting{ID: "987654321", Title: "Weekly", Organizer: "rm_other"}, false)
		}, func(mc *meetingControl, ctx context.Context) error { return mc.joinID(ctx, "987-654-321") }, nil, false, false, noticeJoining},
		{"muted before: the meeting starts muted", func(r *controllerRig) {
			r.mc.setMuted(func(bool) bool { return true })
		}, (*meetingControl).meetNow, nil, true, true, noticeStarting},
		{"not paired", func(r *controllerRig) { r.notYet = true }, (*meetingControl).meetNow, ErrNotReady, false, false, ""},
		{"LiveKit refuses", func(r *controllerRig) { r.ss.fail = errors.New("LiveKit refused the token") }, (*meetingControl).meetNow, errors.New("cannot connect"), false, false, noticeStarting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newControllerRig(t)
			tc.before(r)
			err := tc.join(r.mc, t.Context())
			m := r.mc.state()
			switch {
			case tc.err != nil && err == nil, tc.err == nil && err != nil:
				t.Fatalf("join: %v, want %v", err, tc.err)
			case err != nil:
				if m != nil {
					t.Errorf("in a meeting after a failed join: %+v", m)
				}
				if errors.Is(tc.err, ErrNotReady) && !errors.Is(err, ErrNotReady) {
					t.Errorf("join: %v, want %v", err, tc.err)
				}
			default:
				if m == nil || m.Organizer != tc.organizer || m.Muted != tc.muted {
					t.Fatalf("meeting %+v; want organiser %v, muted %v", m, tc.organizer, tc.muted)
				}
				if muted, _, _, _ := r.ss.last().state(); muted != tc.muted {
					t.Errorf("session muted %v, want %v", muted, tc.muted)
				}
				<-r.ev.joins
			}
			if tc.notice != "" {
				// The notice shows while joining, and goes once it is over.
				if got := r.ev.next(t); got != tc.notice {
					t.Errorf("notice %q, want %q", got, tc.notice)
				}
				if got := r.ev.next(t); got != "-"+tc.notice {
					t.Errorf("then %q, want the notice taken away", got)
				}
			}
		})
	}
}

// TestMeetingControllerControls: the controls once in a meeting.
func TestMeetingControllerControls(t *testing.T) {
	r := newControllerRig(t)
	if err := r.mc.meetNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	sess := r.ss.last()
	for _, tc := range []struct {
		name  string
		do    func() error
		check func() bool
	}{
		{"mute: session, LED and the gate agree", func() error { r.mc.setMuted(func(m bool) bool { return !m }); return nil }, func() bool {
			muted, _, _, _ := sess.state()
			return muted && r.panel.LED() && r.mc.mic.Muted() && r.mc.state().Muted
		}},
		{"camera off", func() error { return r.mc.setCameraOff(true) }, func() bool {
			_, off, _, _ := sess.state()
			return off && r.mc.state().CameraOff
		}},
		{"volume is clamped", func() error { r.mc.setVolume(func(v int) int { return v + 50 }); return nil }, func() bool {
			_, _, v, _ := sess.state()
			return v == 100 && r.mc.state().Volume == 100
		}},
		{"lock", func() error { return r.mc.lock(t.Context(), true) }, func() bool {
			return r.mc.state().Info.Locked && r.p.meeting("111222333").Locked
		}},
		{"mute a guest", func() error { return r.mc.muteParticipant(t.Context(), "guest-ada") }, func() bool {
			ms := r.p.mutes()
			return len(ms) == 1 && ms[0] == "guest-ada"
		}},
		{"a second join", func() error {
			if err := r.mc.meetNow(t.Context()); !errors.Is(err, ErrInMeeting) {
				return errors.New("joined twice")
			}
			return nil
		}, func() bool { return r.ss.last() == sess }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); err != nil {
				t.Fatal(err)
			}
			if !tc.check() {
				t.Error("not done")
			}
		})
	}
}

// TestMeetingControllerEnds: the ways a meeting ends, each back home.
func TestMeetingControllerEnds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		end    func(r *controllerRig, s *fakeSession) error
		notice string
	}{
		{"Leave", func(r *controllerRig, s *fakeSession) error { return r.mc.leave() }, ""},
		{"End for everyone", func(r *controllerRig, s *fakeSession) error { return r.mc.endForAll(context.Background()) }, noticeEnded},
		{"the server ends it", func(r *controllerRig, s *fakeSession) error {
			s.mu.Lock()
			s.conn = meeting.Disconnected
			s.mu.Unlock()
			return nil
		}, noticeEnded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newControllerRig(t)
			if err := r.mc.meetNow(t.Context()); err != nil {
				t.Fatal(err)
			}
			r.ev.next(t) // joining
			r.ev.next(t) // joined
			sess := r.ss.last()
			if err := tc.end(r, sess); err != nil {
				t.Fatal(err)
			}
			if tc.notice != "" {
				if got := r.ev.next(t); got != tc.notice {
					t.Errorf("notice %q, want %q", got, tc.notice)
				}
			}
			if _, _, _, left := sess.state(); !left || r.mc.state() != nil {
				t.Errorf("session left %v, meeting %+v", left, r.mc.state())
			}
			if err := r.mc.leave(); !errors.Is(err, ErrNotInMeeting) {
				t.Errorf("Leave after the end: %v", err)
			}
		})
	}
}
