package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"roomkit/drivers/audio"
	"roomkit/provisioning"
	"roomkit/settings"
)

func TestPortalURL(t *testing.T) {
	paired := t.TempDir()
	if err := provisioning.SaveState(paired, provisioning.State{Version: provisioning.StateVersion, PortalURL: "https://paired.example"}); err != nil {
		t.Fatal(err)
	}
	damaged := t.TempDir()
	if err := os.WriteFile(filepath.Join(damaged, provisioning.StateFile), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, flag, settings, dir, want string
	}{
		{"the flag wins", "https://flag.example", "https://settings.example", paired, "https://flag.example"},
		{"then settings.json", "", "https://settings.example", paired, "https://settings.example"},
		{"then the paired portal", "", "", paired, "https://paired.example"},
		{"else the default", "", "", t.TempDir(), defaultPortal},
		{"a damaged state file: the default", "", "", damaged, defaultPortal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := portalURL(tc.flag, settings.Settings{PortalURL: tc.settings}, tc.dir); got != tc.want {
				t.Errorf("portal %q, want %q", got, tc.want)
			}
		})
	}
	// The damaged file is still there for the kit, which recovers its
	// room with it (docs/protocol.md §4).
	if b, err := os.ReadFile(filepath.Join(damaged, provisioning.StateFile)); err != nil || string(b) != "{garbage" {
		t.Errorf("state file after portalURL: %q, %v; want it left as it was", b, err)
	}
}

// A panel or audio system that failed to open is listed with the reason,
// and reads as unplugged to whatever uses it.
func TestBrokenDevices(t *testing.T) {
	cause := errors.New(`GPIO pin "GPIO99" (mute button) does not exist on this board`)
	for _, tc := range []struct {
		name, kind string
		status     func() (string, bool, string)
	}{
		{"gpio", "gpio", func() (string, bool, string) {
			s := brokenPanel{cause}.Status()
			return s.Kind, s.Present, s.Error
		}},
		{"speakerphone", "speakerphone", func() (string, bool, string) {
			s := brokenSpeakerphone{cause}.Status()
			return s.Kind, s.Present, s.Error
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind, present, msg := tc.status()
			if kind != tc.kind || present || msg == "" {
				t.Errorf("status kind %q present %v error %q", kind, present, msg)
			}
		})
	}
	if err := (brokenSpeakerphone{cause}).Read(t.Context(), make([]int16, 10)); !errors.Is(err, audio.ErrUnplugged) {
		t.Errorf("Read: %v, want ErrUnplugged", err)
	}
}

type stuckSpeakerphone struct {
	audio.Speakerphone
	stuck bool
}

func (s *stuckSpeakerphone) Stuck() bool { return s.stuck }

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
				restartWhenStuck(ctx, &stuckSpeakerphone{stuck: tc.stuck}, inMeeting, tick, func() { close(stopped) }, slog.New(slog.DiscardHandler))
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
