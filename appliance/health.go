package appliance

// The kit's health tree (docs/health.md): what the kit already knows
// (the portal link, the devices' reports, the meetings list, the
// storage, the camera's frames) handed to the checks in package health.
// Everything the tree needs and the kit did not keep lives in kitHealth;
// the kit's other files only report events to it (beat, meetings, frame)
// and ask for the tree (Health, healthLocked).

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"roomkit/drivers"
	"roomkit/drivers/camera"
	"roomkit/health"
	"roomkit/internal/textfield"
	"roomkit/portalapi"
	"roomkit/ui"
)

// kitHealth keeps the few facts the checks need beyond the kit's state,
// and the tree, which remembers since when each check has had its status.
// Its zero value is ready: the tree is built on first use. Locks: k.mu,
// then kitHealth.mu; the checks run under both, so they only read the
// snapshot, the local file system (statfs on /perm) and the interface
// list, none of which can block for long.
type kitHealth struct {
	mu   sync.Mutex
	tree *health.Tree
	in   healthInputs // what the checks read while the tree is evaluated

	beatErr         error
	beatFailedSince time.Time
	meetingsOK      time.Time
	meetingsErr     error
	meetingsFailed  time.Time
	lastFrame       time.Time
	frameErr        error
	camWatchedSince time.Time // when the kit's own reads of the camera (re)started
	// interfaces lists the network interfaces; nil: the system's. Tests
	// set it, the machine running them having any network or none.
	interfaces func() ([]health.Interface, error)
}

// healthInputs is a snapshot of the kit taken under k.mu, so the checks
// run without the kit's lock and see one consistent moment.
type healthInputs struct {
	portal   health.PortalState
	loopback bool // the portal is on this machine: no network needed
	meetings health.MeetingsState
	offset   time.Duration
	offsetOK bool
	devices  []drivers.Status
	hasTouch bool
	camera   health.CameraState
	stuck    bool
	storage  health.StorageState
	ifaces   func() ([]health.Interface, error)
}

// beat records a heartbeat's outcome.
func (h *kitHealth) beat(now time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil && h.beatErr == nil {
		h.beatFailedSince = now
	}
	h.beatErr = err
}

// meetings records a listing of today's meetings.
func (h *kitHealth) meetings(now time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		h.meetingsOK, h.meetingsFailed = now, time.Time{}
	case h.meetingsErr == nil:
		h.meetingsFailed = now
	}
	h.meetingsErr = err
}

// frame records one of the kit's own reads of the camera.
func (h *kitHealth) frame(now time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.lastFrame = now
	}
	h.frameErr = err
}

// Health evaluates the kit's health tree at now.
func (k *Kit) Health(now time.Time) health.Report {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.healthLocked(now)
}

// healthLocked is Health for callers that hold k.mu (the screen's view).
func (k *Kit) healthLocked(now time.Time) health.Report {
	h := &k.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tree == nil {
		h.tree = k.newHealthTree()
	}
	h.in = k.healthInputsLocked(now)
	return h.tree.Evaluate(now)
}

// healthProblemsLocked is what the Settings screen lists: the causes of
// whatever is not ok.
func (k *Kit) healthProblemsLocked(now time.Time) []ui.HealthLine {
	var out []ui.HealthLine
	for _, p := range k.healthLocked(now).Problems() {
		out = append(out, ui.HealthLine{Failed: p.Status == health.Failed, Text: p.Line()})
	}
	return out
}

// newHealthTree builds the kit's checks over k.health.in. The checks run
// with k.health.mu held, inside healthLocked.
func (k *Kit) newHealthTree() *health.Tree {
	in := func() *healthInputs { return &k.health.in }
	device := func(kind string) func() drivers.Status {
		return func() drivers.Status {
			for _, d := range in().devices {
				if d.Kind == kind {
					return d
				}
			}
			return drivers.Status{Kind: kind}
		}
	}
	network := health.Network(func() ([]health.Interface, error) {
		if in().loopback {
			return []health.Interface{{Name: "lo", Up: true, Addrs: []string{"the portal is on this machine"}}}, nil
		}
		return in().ifaces()
	})
	speakerphone := device("speakerphone")
	return health.NewTree(
		network.Then(
			health.Portal(func() health.PortalState { return in().portal }).Then(
				health.Calendar(func() health.MeetingsState { return in().meetings }),
				health.Clock(func() (time.Duration, bool) { return in().offset, in().offsetOK }),
			),
		),
		health.Device(health.NameDisplay, device("display")),
		health.Touch(func() (drivers.Status, bool) { return device("input")(), in().hasTouch }),
		health.Camera(func() health.CameraState { return in().camera }),
		health.Speakerphone(speakerphone,
			// The drivers report one status for the device; the only
			// problem they report while it is present is a speaker
			// without a microphone (alsa's noMicMessage). A driver
			// that can tell the speaker's own problems apart adds
			// them here.
			func() string { return speakerphone().Error },
			func() string { return "" }),
		health.AudioThread(func() bool { return in().stuck }),
		health.Storage(func() health.StorageState { return in().storage }, nil),
		// The update agent (the next issue) adds its check here, at
		// the top level: health.New(health.NameUpdates, agent.Health).
	)
}

// healthInputsLocked takes the snapshot the checks read. k.mu and
// k.health.mu are held.
func (k *Kit) healthInputsLocked(now time.Time) healthInputs {
	h := &k.health
	in := healthInputs{
		devices:  k.devices(),
		hasTouch: k.cfg.Input != nil,
		storage:  health.StorageState{Dir: k.cfg.StateDir, Unusable: k.storageErr},
		loopback: loopbackPortal(k.cfg.PortalURL),
		ifaces:   h.interfaces,
	}
	in.portal = health.PortalState{Refused: k.portalErr, Connected: k.connected, LastOK: k.lastBeat,
		FailedSince: h.beatFailedSince, Zone: k.loc}
	switch err := h.beatErr; {
	case err != nil:
		in.portal.Err = shortReason(err)
		in.portal.Unreachable = errors.Is(err, portalapi.ErrUnreachable)
	case !k.connected:
		// Pairing, or booting: no heartbeat has run, and only an
		// unreachable portal leaves the kit disconnected (waitRetry);
		// a portal that refuses a code still answers.
		in.portal.Unreachable = true
	}
	if k.connected {
		in.portal.FailedSince = time.Time{}
	}
	if in.ifaces == nil {
		in.ifaces = health.SystemInterfaces
	}
	in.meetings = health.MeetingsState{LastOK: h.meetingsOK, FailedSince: h.meetingsFailed, Zone: k.loc}
	if h.meetingsErr != nil {
		in.meetings.Err = shortReason(h.meetingsErr)
	}
	if k.client != nil && (k.connected || !k.lastBeat.IsZero()) {
		in.offset, in.offsetOK = k.client.ClockOffset(), true
	}
	if sp, ok := k.cfg.Speakerphone.(interface{ Stuck() bool }); ok {
		in.stuck = sp.Stuck()
	}
	in.camera = k.cameraStateLocked(now)
	return in
}

// cameraStateLocked says whether frames are expected and when the last
// came. A camera driver that keeps its own time (LastFrame, as a stall
// detector in drivers/camera does) is believed in meetings too; else
// only the kit's own reads count, and while a meeting holds the camera
// the driver's report decides.
func (k *Kit) cameraStateLocked(now time.Time) health.CameraState {
	cam := k.cfg.Camera
	if cam == nil {
		return health.CameraState{Device: drivers.Status{Kind: "camera", Name: "Camera", Error: "No camera configured"}}
	}
	st := health.CameraState{Device: cam.Status(), Since: k.started}
	if lf, ok := cam.(interface{ LastFrame() time.Time }); ok {
		st.Watched, st.LastFrame = true, lf.LastFrame()
		return st
	}
	h := &k.health
	k.cam.cmu.Lock()
	held := k.cam.holds > 0
	k.cam.cmu.Unlock()
	if held || !k.running {
		h.camWatchedSince = time.Time{}
		return st
	}
	if h.camWatchedSince.IsZero() {
		// The kit's reads start (again) now: a frame from before a
		// meeting says nothing about the gap since.
		h.camWatchedSince = now
	}
	st.Watched, st.LastFrame, st.Since = true, h.lastFrame, h.camWatchedSince
	if h.lastFrame.Before(h.camWatchedSince) {
		st.LastFrame = time.Time{}
	}
	var stall *camera.StallError
	if h.frameErr != nil && !errors.As(h.frameErr, &stall) {
		// A stall's own words ("no frames for 10 s") would repeat the check's.
		st.Err = shortReason(h.frameErr)
	}
	return st
}

func loopbackPortal(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()
}

// shortReason is an error in the few words a health sentence has room
// for: "connection refused", "timed out", "invalid_client". The whole
// error is in the log.
func shortReason(err error) string {
	var oe *portalapi.OAuthError
	var dns *net.DNSError
	var errno syscall.Errno
	switch {
	case errors.As(err, &oe):
		return oe.Code
	case errors.As(err, &dns):
		return "cannot resolve " + dns.Name
	case errors.As(err, &errno):
		return errno.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timed out"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		msg = msg[i+2:]
	}
	return textfield.Clean(msg, 100)
}
