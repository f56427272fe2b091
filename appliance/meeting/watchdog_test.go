package meeting

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestWatchFeedback: the watchdog gives a connection up only when the kit
// sends and hears nothing back; muted with the camera off, hearing RTCP,
// or while the SDK reconnects by itself, it waits. It counts in its own
// ticks (current is asked once a tick), not in a guessed time.
func TestWatchFeedback(t *testing.T) {
	for _, c := range []struct {
		name      string
		sending   bool
		feedback  bool
		conn      string
		wantLost  bool
		ticksLeft int // ticks the watchdog runs before its connection is replaced
	}{
		{"sending, nothing back", true, false, Connected, true, 40},
		{"sending, RTCP back", true, true, Connected, false, 12},
		{"muted and camera off", false, false, Connected, false, 12},
		{"the SDK reconnecting", true, false, Reconnecting, false, 12},
		{"feedback off", true, false, Connected, false, 12},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := &Session{cfg: Config{FeedbackLimit: 2 * feedbackTick}, conn: c.conn}
			if c.name == "feedback off" {
				s.cfg.FeedbackLimit = -1
			}
			s.ctx, s.cancel = context.WithCancel(t.Context())
			defer s.cancel()
			s.feedback.Store(time.Now().UnixNano())
			ticks := 0
			current := func() bool {
				ticks++
				if c.sending {
					s.stats.videoSent.Add(1)
				}
				if c.feedback {
					s.feedbackHandler(nil)(nil)
				}
				return ticks <= c.ticksLeft
			}
			lost := false
			s.watchFeedback(current, func(time.Duration) { lost = true })
			if lost != c.wantLost {
				t.Errorf("lost = %v after %d ticks, want %v", lost, ticks, c.wantLost)
			}
			if c.wantLost && ticks >= c.ticksLeft {
				t.Errorf("lost only after %d ticks", ticks)
			}
		})
	}
}

// TestServerRefuses: only a refused connection says the node is gone.
func TestServerRefuses(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	goneAddr := gone.Addr().String()
	gone.Close()
	for _, c := range []struct {
		url  string
		want bool
	}{
		{"ws://" + up.Addr().String(), false},
		{"ws://" + goneAddr, true},
		{"ws://", false},
		{"::not a URL", false},
	} {
		if got := serverRefuses(t.Context(), c.url); got != c.want {
			t.Errorf("serverRefuses(%q) = %v, want %v", c.url, got, c.want)
		}
	}
}
