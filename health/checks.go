package health

// The kit's checks. Each takes what it needs of the kit as a small
// function, so this package knows nothing of appliance and tests feed it
// any state they like; storage and network are read from the system here.

import (
	"fmt"
	"math"
	"net"
	"time"

	"roomkit/drivers"
)

// Names of the kit's checks, as roomctl, the portal and docs/health.md show them.
const (
	NameNetwork      = "Network"
	NamePortal       = "Portal"
	NameCalendar     = "Calendar"
	NameClock        = "Clock"
	NameDisplay      = "Display"
	NameTouch        = "Touch"
	NameCamera       = "Camera"
	NameSpeakerphone = "Speakerphone"
	NameMicrophone   = "Microphone"
	NameSpeaker      = "Speaker"
	NameAudioThread  = "Audio thread"
	NameStorage      = "Storage"
	// NameUpdates is the slot for the update agent (the next issue): its
	// check goes at the top level, failed while an installed release has
	// not passed its trial boot, degraded while a download is retried.
	NameUpdates = "Updates"
)

// Device judges a driver's own report: missing is failed, present with a
// problem is degraded, else ok with the device's name.
func Device(name string, status func() drivers.Status) *Check {
	return New(name, func(time.Time) Result { return deviceResult(status()) })
}

func deviceResult(st drivers.Status) Result {
	switch {
	case !st.Present && st.Error != "":
		return Fail("%s", st.Error)
	case !st.Present:
		return Fail("%s not found", orName(st.Name, st.Kind))
	case st.Error != "":
		return Degrade("%s", st.Error)
	}
	return Pass("%s", orName(st.Name, st.Kind))
}

func orName(name, kind string) string {
	if name != "" {
		return name
	}
	return kind
}

// Touch is the touch input. A kit without one (none configured) still
// works from roomctl and the admin center, so that is degraded.
func Touch(status func() (drivers.Status, bool)) *Check {
	return New(NameTouch, func(time.Time) Result {
		st, ok := status()
		if !ok {
			return Degrade("no touch input configured: the screen cannot be used")
		}
		return deviceResult(st)
	})
}

// StallAfter is how long a camera may go without a frame, while someone
// reads it, before it counts as failed. The kit reads it at least once a
// second; a camera that stops sending without an error (a firmware hang
// some UVC cameras have) shows here within StallAfter. It is the camera
// driver's own limit (camera.StallLimit, after which it reopens the
// camera), so the tree and the driver call the same silence a stall;
// this package does not import the drivers, which the portal would
// then build too.
const StallAfter = 10 * time.Second

// CameraState is what the kit knows about its camera.
type CameraState struct {
	Device drivers.Status
	// Watched says frames are expected: someone reads the camera and
	// LastFrame is kept. False (a meeting reads it and the driver keeps
	// no time): the device's own report decides.
	Watched   bool
	LastFrame time.Time // zero: no frame yet
	Since     time.Time // when frames were first expected (the kit started)
	Err       string    // the last read's error, if it failed
}

// Camera is failed when the camera is missing or sends no frames.
func Camera(state func() CameraState) *Check {
	return New(NameCamera, func(now time.Time) Result {
		st := state()
		dev := deviceResult(st.Device)
		if dev.Status == Failed || !st.Watched {
			return dev
		}
		// A silence is failed even while the driver calls the camera
		// present with a problem (a stall watch that reopened it).
		last := st.LastFrame
		if last.IsZero() {
			last = st.Since
		}
		if gap := now.Sub(last); gap >= StallAfter {
			what := fmt.Sprintf("no frames for %s", Seconds(gap))
			if st.LastFrame.IsZero() {
				what = fmt.Sprintf("no frame since the kit started %s ago", Seconds(gap))
			}
			if st.Err != "" {
				what += " (" + st.Err + ")"
			}
			return Fail("%s", what).At(last)
		}
		return dev
	})
}

// Speakerphone is the audio device; Microphone and Speaker depend on it
// and say what each direction lacks (micErr, speakerErr: "" when fine).
func Speakerphone(status func() drivers.Status, micErr, speakerErr func() string) *Check {
	direction := func(name string, problem func() string) *Check {
		return New(name, func(time.Time) Result {
			if p := problem(); p != "" {
				return Fail("%s", p)
			}
			return Pass("working")
		})
	}
	return New(NameSpeakerphone, func(time.Time) Result {
		st := status()
		if st.Present {
			// A present device's problem belongs to a direction.
			return Pass("%s", orName(st.Name, st.Kind))
		}
		return deviceResult(st)
	}).Then(direction(NameMicrophone, micErr), direction(NameSpeaker, speakerErr))
}

// AudioThread fails once an audio thread is stuck in the sound driver
// (an unplugged USB speakerphone can leave one): only a new roomd frees
// it, and roomd restarts itself for that when no meeting is on.
func AudioThread(stuck func() bool) *Check {
	return New(NameAudioThread, func(time.Time) Result {
		if stuck() {
			return Fail("stuck in the sound driver after an unplug; roomd restarts when no meeting is on")
		}
		return Pass("running")
	})
}

// Interface is a network interface as the network check sees it.
type Interface struct {
	Name  string
	Up    bool
	Addrs []string // unicast addresses, without the prefix length
}

// Network passes when some interface beyond loopback is up with an
// address. interfaces nil: the system's (SystemInterfaces).
func Network(interfaces func() ([]Interface, error)) *Check {
	if interfaces == nil {
		interfaces = SystemInterfaces
	}
	return New(NameNetwork, func(time.Time) Result {
		ifs, err := interfaces()
		if err != nil {
			return Fail("cannot list the network interfaces (%v)", err)
		}
		var upNoAddr string
		for _, i := range ifs {
			switch {
			case !i.Up:
			case len(i.Addrs) > 0:
				return Pass("%s %s", i.Name, i.Addrs[0])
			case upNoAddr == "":
				upNoAddr = i.Name
			}
		}
		if upNoAddr != "" {
			return Fail("%s is up but has no address (no DHCP answer?)", upNoAddr)
		}
		return Fail("no network: no cable, or no interface is up")
	})
}

// SystemInterfaces lists the machine's interfaces but loopback.
func SystemInterfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []Interface
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			continue
		}
		it := Interface{Name: i.Name, Up: i.Flags&net.FlagUp != 0}
		addrs, err := i.Addrs()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", i.Name, err)
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsGlobalUnicast() {
				it.Addrs = append(it.Addrs, ipn.IP.String())
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// PortalState is the kit's link to its portal.
type PortalState struct {
	// Refused is why the kit will not talk to the portal at all (an
	// http:// URL across a network): nothing helps until it is fixed.
	Refused     string
	Connected   bool      // the last request got an answer
	LastOK      time.Time // the last heartbeat that got through
	FailedSince time.Time // the first failure after LastOK
	Err         string    // the last failure, short: "connection refused"
	Unreachable bool      // Err is the network's, not the portal's refusal
	Zone        *time.Location
}

// Portal is failed while the portal does not answer or refuses the kit.
func Portal(state func() PortalState) *Check {
	return New(NamePortal, func(now time.Time) Result {
		st := state()
		switch {
		case st.Refused != "":
			return Fail("%s", st.Refused)
		case st.Connected && st.LastOK.IsZero():
			return Pass("answering")
		case st.Connected:
			return Pass("last heartbeat %s ago", Seconds(now.Sub(st.LastOK))).At(st.LastOK)
		}
		what := "refusing the kit"
		if st.Unreachable || st.Err == "" {
			what = "unreachable"
		}
		if st.FailedSince.IsZero() {
			return Fail("%s%s", what, paren(st.Err))
		}
		return Fail("%s since %s%s", what, clock(st.FailedSince, st.Zone), paren(st.Err)).At(st.FailedSince)
	})
}

// MeetingsState is the kit's last listing of the room's meetings.
type MeetingsState struct {
	LastOK      time.Time // zero: not listed yet
	FailedSince time.Time // the first failure after LastOK
	Err         string
	Zone        *time.Location
}

// Calendar is degraded while the room's meetings cannot be listed: the
// home screen's list is old, but meetings can still be joined by ID.
func Calendar(state func() MeetingsState) *Check {
	return New(NameCalendar, func(time.Time) Result {
		st := state()
		switch {
		case st.Err != "" && !st.FailedSince.IsZero():
			return Degrade("cannot list today's meetings since %s%s", clock(st.FailedSince, st.Zone), paren(st.Err)).At(st.FailedSince)
		case st.Err != "":
			return Degrade("cannot list today's meetings%s", paren(st.Err))
		case st.LastOK.IsZero():
			return Pass("not listed yet")
		}
		return Pass("today's meetings listed at %s", clock(st.LastOK, st.Zone))
	})
}

// Clock tolerances: the portal accepts assertions a minute off (and the
// kit corrects for its offset anyway), but a screen clock or a meeting
// list a few seconds off is already noticed by people.
const (
	ClockSlack = 2 * time.Second
	ClockLimit = time.Minute
)

// Clock compares the kit's clock with the portal's (the Date of its last
// answer). known false: no answer has been compared yet.
func Clock(offset func() (off time.Duration, known bool)) *Check {
	return New(NameClock, func(time.Time) Result {
		off, known := offset()
		if !known {
			return Degrade("not yet compared with the portal's clock")
		}
		dir := "behind"
		if off < 0 {
			dir = "ahead of" // the portal's clock is behind the kit's
		}
		abs := time.Duration(math.Abs(float64(off)))
		switch {
		case abs <= ClockSlack:
			return Pass("within %s of the portal's", Seconds(ClockSlack))
		case abs <= ClockLimit:
			return Degrade("%s %s the portal's", Seconds(abs), dir)
		}
		return Fail("%s %s the portal's: no time server reached?", Seconds(abs), dir)
	})
}

// Seconds says a duration the way the sentences do: "12 s", "3 min", "2 h".
func Seconds(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	}
	return fmt.Sprintf("%d s", int(d/time.Second))
}

func clock(t time.Time, zone *time.Location) string {
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone).Format("15:04")
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
