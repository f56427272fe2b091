package audio

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// An audio system that failed to start is listed with the reason, and
// reads as unplugged to whatever uses it.
func TestBroken(t *testing.T) {
	cause := errors.New("miniaudio: no backend")
	sp := Broken(cause)
	if s := sp.Status(); s.Kind != "speakerphone" || s.Present || s.Error == "" {
		t.Errorf("status %+v", s)
	}
	for name, err := range map[string]error{
		"Read":  sp.Read(t.Context(), make([]int16, 10)),
		"Write": sp.Write(t.Context(), make([]int16, 10)),
	} {
		if !errors.Is(err, ErrUnplugged) {
			t.Errorf("%s: %v, want ErrUnplugged", name, err)
		}
	}
}

// fixedMic is a microphone that always hears the same sample.
type fixedMic struct {
	Speakerphone
	v int16
}

func (m fixedMic) Read(_ context.Context, buf []int16) error {
	for i := range buf {
		buf[i] = m.v
	}
	return nil
}

func TestMuteGate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		muted bool
		want  int16
	}{
		{"unmuted: the room is heard", false, 1000},
		{"muted: silence", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewMuteGate(fixedMic{v: 1000})
			g.SetMuted(tc.muted)
			buf := make([]int16, 4)
			if err := g.Read(t.Context(), buf); err != nil {
				t.Fatal(err)
			}
			for _, s := range buf {
				if s != tc.want {
					t.Fatalf("read %v, want every sample %d", buf, tc.want)
				}
			}
			if g.Muted() != tc.muted {
				t.Errorf("Muted %v", g.Muted())
			}
		})
	}
}

// A stuck audio thread restarts roomd, but never in a meeting.
func TestRestartWhenStuck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stuck   bool
		meeting []bool // what inMeeting answers, tick by tick
		stops   bool
	}{
		{"healthy", false, []bool{false, false, false}, false},
		{"stuck, idle", true, []bool{false}, true},
		{"stuck, in a meeting until it ends", true, []bool{true, true, false}, true},
		{"stuck, the meeting goes on", true, []bool{true, true, true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tick := make(chan time.Time)
			stopped := make(chan struct{})
			asked := 0
			inMeeting := func() bool { asked++; return tc.meeting[asked-1] }
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				RestartWhenStuck(ctx, func() bool { return tc.stuck }, inMeeting, tick, func() { close(stopped) }, slog.New(slog.DiscardHandler))
				close(done)
			}()
			for range tc.meeting {
				select {
				case tick <- time.Time{}:
				case <-done:
				}
			}
			cancel()
			<-done
			select {
			case <-stopped:
				if !tc.stops {
					t.Error("roomd restarted")
				}
			default:
				if tc.stops {
					t.Error("roomd did not restart")
				}
			}
		})
	}
}
