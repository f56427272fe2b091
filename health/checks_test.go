package health

import (
	"errors"
	"strings"
	"testing"
	"time"

	"roomkit/drivers"
)

// evalOne evaluates a single check at now and returns its node.
func evalOne(c *Check, now time.Time) Node {
	return NewTree(c).Evaluate(now).Checks[0]
}

func TestKitChecks(t *testing.T) {
	zurich, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		t.Fatal(err)
	}
	cam := drivers.Status{Kind: "camera", Name: "Logitech C920", Present: true}
	for _, tc := range []struct {
		name       string
		check      *Check
		at         time.Time
		wantStatus Status
		wantLine   string
		wantSince  time.Time // zero: not checked
	}{
		{"camera sending", Camera(func() CameraState {
			return CameraState{Device: cam, Watched: true, LastFrame: t0.Add(-time.Second), Since: t0.Add(-time.Hour)}
		}), t0, OK, "Camera: Logitech C920", time.Time{}},
		{"camera stalled without an error", Camera(func() CameraState {
			return CameraState{Device: cam, Watched: true, LastFrame: t0.Add(-12 * time.Second), Since: t0.Add(-time.Hour)}
		}), t0, Failed, "Camera: no frames for 12 s", t0.Add(-12 * time.Second)},
		{"camera stalled with an error", Camera(func() CameraState {
			return CameraState{Device: cam, Watched: true, LastFrame: t0.Add(-11 * time.Second), Err: "timeout"}
		}), t0, Failed, "Camera: no frames for 11 s (timeout)", time.Time{}},
		{"camera never sent", Camera(func() CameraState {
			return CameraState{Device: cam, Watched: true, Since: t0.Add(-30 * time.Second)}
		}), t0, Failed, "Camera: no frame since the kit started 30 s ago", time.Time{}},
		{"camera starting", Camera(func() CameraState {
			return CameraState{Device: cam, Watched: true, Since: t0.Add(-9 * time.Second)}
		}), t0, OK, "Camera: Logitech C920", time.Time{}},
		{"camera silent while its driver reports a problem", Camera(func() CameraState {
			return CameraState{Device: drivers.Status{Kind: "camera", Name: "Logitech C920", Present: true, Error: "No frames for 12 s; the camera was reopened."},
				Watched: true, LastFrame: t0.Add(-12 * time.Second)}
		}), t0, Failed, "Camera: no frames for 12 s", time.Time{}},
		{"camera in a meeting's hands: the driver decides", Camera(func() CameraState {
			return CameraState{Device: cam, LastFrame: t0.Add(-time.Hour)}
		}), t0, OK, "Camera: Logitech C920", time.Time{}},
		{"camera unplugged", Camera(func() CameraState {
			return CameraState{Device: drivers.Status{Kind: "camera", Name: "Logitech C920", Error: "The camera is unplugged."}, Watched: true}
		}), t0, Failed, "Camera: The camera is unplugged.", time.Time{}},

		{"portal answering", Portal(func() PortalState {
			return PortalState{Connected: true, LastOK: t0.Add(-4 * time.Second)}
		}), t0, OK, "Portal: last heartbeat 4 s ago", time.Time{}},
		{"portal unreachable", Portal(func() PortalState {
			return PortalState{FailedSince: t0, Err: "connection refused", Unreachable: true}
		}), t0.Add(time.Minute), Failed, "Portal: unreachable since 09:14 (connection refused)", t0},
		{"portal unreachable, in the room's zone", Portal(func() PortalState {
			return PortalState{FailedSince: t0, Err: "connection refused", Unreachable: true, Zone: zurich}
		}), t0, Failed, "Portal: unreachable since 10:14 (connection refused)", time.Time{}},
		{"portal refusing", Portal(func() PortalState {
			return PortalState{FailedSince: t0, Err: "invalid_client"}
		}), t0, Failed, "Portal: refusing the kit since 09:14 (invalid_client)", time.Time{}},
		{"portal URL refused by the kit", Portal(func() PortalState {
			return PortalState{Refused: "Plain HTTP to a portal on the network"}
		}), t0, Failed, "Portal: Plain HTTP to a portal on the network", time.Time{}},

		{"calendar listed", Calendar(func() MeetingsState { return MeetingsState{LastOK: t0} }), t0, OK,
			"Calendar: today's meetings listed at 09:14", time.Time{}},
		{"calendar failing", Calendar(func() MeetingsState {
			return MeetingsState{LastOK: t0.Add(-time.Hour), FailedSince: t0, Err: "internal error"}
		}), t0, Degraded, "Calendar: cannot list today's meetings since 09:14 (internal error)", t0},

		{"clock in step", Clock(func() (time.Duration, bool) { return 300 * time.Millisecond, true }), t0, OK,
			"Clock: within 2 s of the portal's", time.Time{}},
		{"clock behind", Clock(func() (time.Duration, bool) { return 12 * time.Second, true }), t0, Degraded,
			"Clock: 12 s behind the portal's", time.Time{}},
		{"clock far ahead", Clock(func() (time.Duration, bool) { return -3 * time.Hour, true }), t0, Failed,
			"Clock: 3 h ahead of the portal's: no time server reached?", time.Time{}},
		{"clock unknown", Clock(func() (time.Duration, bool) { return 0, false }), t0, Degraded,
			"Clock: not yet compared with the portal's clock", time.Time{}},

		{"network up", Network(func() ([]Interface, error) {
			return []Interface{{Name: "wlan0"}, {Name: "eth0", Up: true, Addrs: []string{"192.0.2.7"}}}, nil
		}), t0, OK, "Network: eth0 192.0.2.7", time.Time{}},
		{"network without DHCP", Network(func() ([]Interface, error) { return []Interface{{Name: "eth0", Up: true}}, nil }), t0, Failed,
			"Network: eth0 is up but has no address (no DHCP answer?)", time.Time{}},
		{"no network", Network(func() ([]Interface, error) { return nil, nil }), t0, Failed,
			"Network: no network: no cable, or no interface is up", time.Time{}},

		{"display", Device(NameDisplay, func() drivers.Status { return drivers.Status{Kind: "display", Name: "HDMI-1", Present: true} }), t0, OK,
			"Display: HDMI-1", time.Time{}},
		{"no touch configured", Touch(func() (drivers.Status, bool) { return drivers.Status{}, false }), t0, Degraded,
			"Touch: no touch input configured: the screen cannot be used", time.Time{}},
		{"touch gone", Touch(func() (drivers.Status, bool) { return drivers.Status{Kind: "input", Name: "ILITEK"}, true }), t0, Failed,
			"Touch: ILITEK not found", time.Time{}},
		{"audio thread stuck", AudioThread(func() bool { return true }), t0, Failed,
			"Audio thread: stuck in the sound driver after an unplug; roomd restarts when no meeting is on", time.Time{}},

		{"storage fine", Storage(func() StorageState { return StorageState{Dir: "/perm"} }, func(string) (Space, error) {
			return Space{Total: 4e9, Free: 1.2e9}, nil
		}), t0, OK, "Storage: 1.2 GB free of 4.0 GB", time.Time{}},
		{"storage nearly full", Storage(func() StorageState { return StorageState{Dir: "/perm"} }, func(string) (Space, error) {
			return Space{Total: 4e9, Free: 40e6}, nil
		}), t0, Degraded, "Storage: /perm is nearly full: 40 MB free of 4.0 GB", time.Time{}},
		{"storage read-only", Storage(func() StorageState { return StorageState{Dir: "/perm"} }, func(string) (Space, error) {
			return Space{Total: 4e9, Free: 1e9, ReadOnly: true}, nil
		}), t0, Failed, "Storage: /perm is read-only: nothing the kit learns is kept", time.Time{}},
		{"running from memory", Storage(func() StorageState {
			return StorageState{Dir: "/perm/roomkit", Unusable: errors.New("mkdir /perm/roomkit: read-only file system")}
		}, nil), t0, Failed, "Storage: /perm/roomkit is not usable, the kit runs from memory and keeps nothing (mkdir /perm/roomkit: read-only file system)", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := evalOne(tc.check, tc.at)
			if n.Status != tc.wantStatus || n.Line() != tc.wantLine {
				t.Errorf("got %s %q, want %s %q", n.Status, n.Line(), tc.wantStatus, tc.wantLine)
			}
			if !tc.wantSince.IsZero() && !n.Since.Equal(tc.wantSince) {
				t.Errorf("since %v, want %v", n.Since, tc.wantSince)
			}
		})
	}
}

func TestSpeakerphone(t *testing.T) {
	for _, tc := range []struct {
		name      string
		dev       drivers.Status
		mic       string
		wantLines []string
	}{
		{"working", drivers.Status{Kind: "speakerphone", Name: "Jabra Speak 510", Present: true}, "",
			[]string{"ok Speakerphone: Jabra Speak 510", "ok Microphone: working", "ok Speaker: working"}},
		{"a speaker without a microphone", drivers.Status{Kind: "speakerphone", Name: "HDMI audio", Present: true}, "no microphone",
			[]string{"ok Speakerphone: HDMI audio", "failed Microphone: no microphone", "ok Speaker: working"}},
		{"unplugged", drivers.Status{Kind: "speakerphone", Name: "Jabra Speak 510", Error: "The speakerphone is unplugged."}, "",
			[]string{"failed Speakerphone: The speakerphone is unplugged.", "failed Microphone: dependency Speakerphone failed",
				"failed Speaker: dependency Speakerphone failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewTree(Speakerphone(func() drivers.Status { return tc.dev }, func() string { return tc.mic }, func() string { return "" })).Evaluate(t0)
			if got := lines(r.Checks); strings.Join(got, "\n") != strings.Join(tc.wantLines, "\n") {
				t.Errorf("got %q, want %q", got, tc.wantLines)
			}
		})
	}
}

// TestSystemStorage reads a real directory: the test's own, which is
// writable and not full on any machine that runs the tests.
func TestSystemStorage(t *testing.T) {
	sp, err := SystemSpace(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if sp.Total == 0 || sp.Free > sp.Total || sp.ReadOnly {
		t.Errorf("implausible: %+v", sp)
	}
	if _, err := SystemSpace("/nonexistent/roomkit"); err == nil {
		t.Error("a missing directory passes")
	}
}
