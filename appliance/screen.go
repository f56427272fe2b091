package appliance

// The screen goroutine and the state it alone owns: which overlay is up
// (Settings, the reset confirmation, the keypad, a meeting's panel), the
// notice, and what the device tests show. Nobody else touches that
// state, so it needs no lock: other goroutines post a change (post),
// which the screen goroutine applies before it next draws. A tap goes
// input → runScreen → act (actions.go) → a part of the kit.

import (
	"context"
	"fmt"
	"image"
	"slices"
	"sync"
	"time"

	"roomkit/drivers/display"
	"roomkit/drivers/input"
	"roomkit/ui"
)

// meetingFrameInterval paces the in-meeting screen: remote video moves,
// 15 frames a second is smooth enough for tiles, and a frame is only
// drawn when a picture changed.
const meetingFrameInterval = time.Second / 15

// noticeFor is how long a transient notice stays on screen.
const noticeFor = 4 * time.Second

// screenState is what only the screen goroutine reads and writes.
type screenState struct {
	confirming  bool           // the "Factory reset?" screen is up
	settings    bool           // the settings screen is up (home's Settings: where Reset is)
	keypad      *ui.KeypadView // the join keypad is up (state Ready)
	panel       ui.Panel       // the meeting's side panel
	shown       []string       // the participants panel's identities, as last drawn
	notice      string
	noticeUntil time.Time
	// identifyUntil: an admin identifies the kit; the screen flashes the
	// room's name until then (remote.go).
	identifyUntil time.Time

	tests       *deviceTests // the device tests, while Settings is up
	testGen     int          // bumped when the device tests start or stop: late results are dropped
	micLevel    float64
	tonePlaying bool
	preview     image.Image // the camera's picture while Settings is up
}

// screen is the screen goroutine's: its state, the renderer, and the
// queue of changes posted to it.
type screen struct {
	renderer *ui.Renderer
	state    *screenState
	stopped  chan struct{} // closed when the screen goroutine ends
	afterMu  sync.Mutex    // its state's owner once it has ended: onScreen's callers

	mu    sync.Mutex
	posts []func(*screenState)
}

func newScreen(r *ui.Renderer) screen {
	return screen{renderer: r, state: &screenState{}, stopped: make(chan struct{})}
}

// post queues fn to run on the screen goroutine, and wakes it.
func (sc *screen) post(k *Kit, fn func(*screenState)) {
	sc.postQuiet(fn)
	k.signal()
}

// postQuiet queues fn without waking the screen goroutine: for what only
// the next regular frame needs to show (the microphone meter, the
// preview), so a busy device test does not make the screen draw more.
func (sc *screen) postQuiet(fn func(*screenState)) {
	sc.mu.Lock()
	sc.posts = append(sc.posts, fn)
	sc.mu.Unlock()
}

// apply runs the posted changes, on the screen goroutine.
func (sc *screen) apply() {
	sc.mu.Lock()
	posts := sc.posts
	sc.posts = nil
	sc.mu.Unlock()
	for _, fn := range posts {
		fn(sc.state)
	}
}

// onScreen runs fn on the screen goroutine and returns when it has run;
// once that goroutine has ended, fn runs here.
func (k *Kit) onScreen(fn func(*screenState)) {
	done := make(chan struct{})
	k.screen.post(k, func(s *screenState) { fn(s); close(done) })
	select {
	case <-done:
	case <-k.screen.stopped:
		k.screen.afterMu.Lock()
		defer k.screen.afterMu.Unlock()
		k.screen.apply()
		<-done
	}
}

// view is what the screen shows now. It runs fn on the screen goroutine,
// for callers outside it (tests).
func (k *Kit) view() ui.View {
	var v ui.View
	k.onScreen(func(s *screenState) { v = k.viewOf(s) })
	return v
}

// screenEvents is how the meeting controller reaches the screen.
type screenEvents struct{ k *Kit }

func (e screenEvents) changed() { e.k.signal() }

func (e screenEvents) notice(text string, d time.Duration) {
	until := e.k.now().Add(d)
	e.k.screen.post(e.k, func(s *screenState) {
		switch {
		case d > 0:
			s.notice, s.noticeUntil = text, until
		case s.notice == text:
			s.notice, s.noticeUntil = "", time.Time{}
		}
	})
}

func (e screenEvents) joined() {
	e.k.screen.post(e.k, func(s *screenState) {
		s.keypad, s.settings, s.confirming = nil, false, false
		s.panel, s.shown = ui.NoPanel, nil
	})
}

// runScreen owns the renderer: it draws on every change and once a
// second (the clock, the countdown, a device unplugged or back), and maps
// taps and keys to actions. While Settings is up it draws five times a
// second for the microphone meter and the camera preview, and runs the
// device tests (syncTests). In a meeting it looks 15 times a second for
// new video pictures and draws only when one arrived, so a meeting where
// nobody moves costs no more than the home screen.
func (k *Kit) runScreen(ctx context.Context) {
	sc := &k.screen
	defer close(sc.stopped)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	defer k.stopTests(sc.state)
	every := time.Second
	var events <-chan input.Event
	if k.cfg.Input != nil {
		events = k.cfg.Input.Events()
	}
	var (
		lastErr  string
		lastSig  []image.Image
		lastDraw time.Time
	)
	draw := func(onlyIfMoved bool) {
		v := k.viewOf(sc.state)
		if v.Meeting != nil {
			sig := frameSignature(v.Meeting, nil)
			if onlyIfMoved && slices.Equal(sig, lastSig) && time.Since(lastDraw) < time.Second {
				return
			}
			lastSig = sig
		} else {
			lastSig = nil
		}
		lastDraw = time.Now()
		var err error
		if c, ok := k.cfg.Display.(display.Canvas); ok {
			// The display lends its pixels: no back buffer, no copy.
			err = c.Draw(func(dst *image.RGBA) { sc.renderer.RenderTo(dst, v) })
		} else {
			err = k.cfg.Display.Show(sc.renderer.Render(v))
		}
		if msg := fmt.Sprint(err); err != nil && msg != lastErr {
			k.log.Error("cannot show a frame", "err", err)
			lastErr = msg
		} else if err == nil {
			lastErr = ""
		}
	}
	draw(false)
	for {
		ticked := false
		select {
		case <-ctx.Done():
			sc.apply()
			return
		case <-tick.C:
			ticked = true
		case <-k.changed:
		case ev, ok := <-events:
			if !ok {
				k.log.Warn("input device gone", "device", k.cfg.Input.Status().Name)
				events = nil
				continue
			}
			sc.apply()
			switch ev.Kind {
			case input.Up:
				k.act(sc.state, sc.renderer.Hit(k.viewOf(sc.state), image.Pt(ev.X, ev.Y)))
			case input.Key:
				k.act(sc.state, ui.KeyAction(k.viewOf(sc.state), ev.Key))
			default:
				continue
			}
		}
		sc.apply()
		want := time.Second
		switch {
		case k.syncTests(ctx, sc.state):
			want = settingsFrameInterval
		case k.meetings.current() != nil:
			want = meetingFrameInterval
		}
		if want != every {
			every = want
			tick.Reset(every)
		}
		draw(ticked && every == meetingFrameInterval)
	}
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
