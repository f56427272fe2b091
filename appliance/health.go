package appliance

// The kit's health tree (docs/health.md): what the kit already knows
// (the portal link, the devices' reports, the meetings list, the
// storage, the camera's frames) handed to the checks in package health.
// Everything the tree needs and the kit did not keep lives in kitHealth;
// the kit's other parts only report events to it (the link's Beat, the
// meeting controller's listed, the camera watch's frame) and ask for the
// tree (Health, healthProblems).

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
// Its zero value is ready: the tree is built on first use. The kit's and
// the link's locks are taken (briefly, for the snapshot) before
// kitHealth.mu, never under it; the checks run under kitHealth.mu and
// read only the snapshot, the local file system (statfs on /perm) and
// the interface list.
type kitHealth struct {
	mu   sync.Mutex
	tree *health.Tree
	in   healthInputs // what the checks read while the tree is evaluated
	// space measures the state directory's file system; nil: statfs.
	// Tests fix it, so what the Settings screen shows does not depend on
	// how full the machine's disk is.
	space func(dir string) (health.Space, error)

	beatErr         error
	beatFailedSince time.Time
	meetingsOK      time.Time
	meetingsErr     error
	meetingsFailed  time.Time
	lastFrame       time.Time
	frameErr        error
	camHeld         bool      // the last read found the camera held (a meeting reads it)
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
	updates  health.Result // the update agent's verdict, taken before the tree's lock
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

// frame records one of the camera watch's reads: read false, the camera
// was held (a meeting reads it) and nothing was read.
func (h *kitHealth) frame(now time.Time, read bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !read {
		h.camHeld, h.camWatchedSince = true, time.Time{}
		return
	}
	if h.camHeld || h.camWatchedSince.IsZero() {
		// The kit's reads start (again) now: a frame from before a
		// meeting says nothing about the gap since.
		h.camHeld, h.camWatchedSince = false, now
	}
	if err == nil {
		h.lastFrame = now
	}
	h.frameErr = err
}

// Health evaluates the kit's health tree at now.
func (k *Kit) Health(now time.Time) health.Report {
	link := k.link.healthState()
	k.mu.Lock()
	running := k.running
	k.mu.Unlock()
	devs := k.devices()
	updates := k.updatesHealth(now)

	h := &k.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tree == nil {
		h.tree = k.newHealthTree()
	}
	h.in = k.healthInputs(now, link, running, devs)
	h.in.updates = updates
	return h.tree.Evaluate(now)
}

// healthProblems is what the Settings screen lists: the causes of
// whatever is not ok.
func (k *Kit) healthProblems(now time.Time) []ui.HealthLine {
	var out []ui.HealthLine
	for _, p := range k.Health(now).Problems() {
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
		health.Storage(func() health.StorageState { return in().storage }, func(dir string) (health.Space, error) {
			if k.health.space != nil {
				return k.health.space(dir)
			}
			return health.SystemSpace(dir)
		}),
		// The update agent's own verdict (update.go): degraded during
		// a trial boot or after a rollback, so the trial's judge (the
		// agent, with the rest of the tree) is not judged by itself.
		health.New(health.NameUpdates, func(time.Time) health.Result { return in().updates }),
	)
}

// linkHealth is what the health tree needs of the portal link.
type linkHealth struct {
	refused    string
	connected  bool
	lastBeat   time.Time
	loc        *time.Location
	storageErr error
	offset     time.Duration
	offsetOK   bool
}

// healthState takes the link's part of the health snapshot.
func (l *portalLink) healthState() linkHealth {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := linkHealth{refused: l.portalErr, connected: l.connected, lastBeat: l.lastBeat, loc: l.loc, storageErr: l.storageErr}
	if l.client != nil && (l.connected || !l.lastBeat.IsZero()) {
		s.offset, s.offsetOK = l.client.ClockOffset(), true
	}
	return s
}

// healthInputs takes the snapshot the checks read; k.health.mu is held.
func (k *Kit) healthInputs(now time.Time, link linkHealth, running bool, devs []drivers.Status) healthInputs {
	h := &k.health
	in := healthInputs{
		devices:  devs,
		hasTouch: k.cfg.Input != nil,
		storage:  health.StorageState{Dir: k.cfg.StateDir, Unusable: link.storageErr},
		loopback: loopbackPortal(k.cfg.PortalURL),
		ifaces:   h.interfaces,
		offset:   link.offset,
		offsetOK: link.offsetOK,
	}
	in.portal = health.PortalState{Refused: link.refused, Connected: link.connected, LastOK: link.lastBeat,
		FailedSince: h.beatFailedSince, Zone: link.loc}
	switch err := h.beatErr; {
	case err != nil:
		in.portal.Err = shortReason(err)
		in.portal.Unreachable = errors.Is(err, portalapi.ErrUnreachable)
	case !link.connected:
		// Pairing, or booting: no heartbeat has run, and only an
		// unreachable portal leaves the kit disconnected (waitRetry);
		// a portal that refuses a code still answers.
		in.portal.Unreachable = true
	}
	if link.connected {
		in.portal.FailedSince = time.Time{}
	}
	if in.ifaces == nil {
		in.ifaces = health.SystemInterfaces
	}
	in.meetings = health.MeetingsState{LastOK: h.meetingsOK, FailedSince: h.meetingsFailed, Zone: link.loc}
	if h.meetingsErr != nil {
		in.meetings.Err = shortReason(h.meetingsErr)
	}
	if sp, ok := k.cfg.Speakerphone.(interface{ Stuck() bool }); ok {
		in.stuck = sp.Stuck()
	}
	in.camera = k.cameraState(running)
	return in
}

// cameraState says whether frames are expected and when the last came;
// k.health.mu is held. A camera driver that keeps its own time
// (LastFrame) is believed in meetings too; else only the kit's own reads
// count, and while a meeting holds the camera the driver's report
// decides.
func (k *Kit) cameraState(running bool) health.CameraState {
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
	if h.camHeld || !running {
		return st
	}
	// Watched from the kit's start until a meeting first holds the
	// camera, then from the first read after it let go: a camera that
	// hangs in its very first read is caught too.
	st.Watched, st.LastFrame = true, h.lastFrame
	if !h.camWatchedSince.IsZero() {
		st.Since = h.camWatchedSince
	}
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
