// Package appliance is roomd: the kit's state machine, which pairs the kit
// with the portal, keeps it in touch, and drives the screen.
//
// The states:
//
//	booting ──► pairing ──(code approved)──► ready ◄──► in-meeting
//	   ▲           ▲                           │             │
//	   │           └──(unpaired in the admin ──┴─────────────┘
//	   │               center, or reset)
//	   └── (factory reset failed: load again)
//
// A state directory the kit cannot use leaves it running from memory
// (storage.go): it pairs, with a warning that nothing will be kept.
//
// In a meeting (inmeeting.go) the kit keeps its heartbeat: ready's state
// function runs in both. Updating joins later, entered from ready. One
// goroutine runs the state functions (boot, pair, ready); another owns the
// screen: it renders on every change and once a second, and turns taps
// and keys into actions. Both share the fields under Kit.mu. The devices
// have goroutines of their own (devices.go, panel.go): the camera watch,
// the Settings screen's device tests and the GPIO panel.
package appliance

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"roomkit/appliance/meeting"
	"roomkit/drivers"
	"roomkit/drivers/audio"
	"roomkit/drivers/camera"
	"roomkit/drivers/display"
	"roomkit/drivers/gpio"
	"roomkit/drivers/input"
	"roomkit/provisioning"
	"roomkit/ui"
)

// State is what the kit is doing.
type State string

const (
	Booting   State = "booting"    // loading identity and state
	Pairing   State = "pairing"    // showing a code, waiting for the admin center
	Ready     State = "ready"      // paired: the home screen
	InMeeting State = "in-meeting" // in a meeting
)

// States lists every state, for metrics.
var States = []State{Booting, Pairing, Ready, InMeeting}

// Messages the room's staff and IT read on the pairing screen.
const (
	msgNewIdentity = "This kit has a new identity and must be paired again."
	msgCorrupt     = "The kit's settings were damaged and have been reset; pair the room again."
	msgUnpaired    = "This room was unpaired in the admin center; pair it again."
	msgDenied      = "The code was denied in the admin center; here is a new one."
	msgReset       = "The kit was reset to factory settings; pair the room again."
	msgRecovering  = "The kit's settings were damaged; asking the portal for this room's pairing…"
	msgPlainHTTP   = "Plain HTTP to the portal: credentials cross the network unencrypted (settings.json allow_plain_http)."
)

// noticeFor is how long a transient notice stays on screen.
const noticeFor = 4 * time.Second

// Config is what roomd hands the kit.
type Config struct {
	StateDir  string // e.g. /perm/roomkit
	PortalURL string
	Version   string

	Display      display.Display // required
	Input        input.Source    // optional: a kit without touch still works
	Camera       camera.Camera   // optional until meetings
	Speakerphone audio.Speakerphone
	GPIO         gpio.Controls // optional: mute button and LED, presence sensor

	// Settings are the installer's settings.json (provisioning.LoadSettings).
	// SettingsErr is why that file could not be used: Settings are then
	// the defaults, and the screen says so until the file is fixed.
	Settings    provisioning.Settings
	SettingsErr error

	Logger            *slog.Logger
	HeartbeatInterval time.Duration    // default 15 s (docs/protocol.md §5)
	Now               func() time.Time // default time.Now
	// HTTPClient reaches the portal. The default has a 30 s timeout and
	// goes through Settings.HTTPProxy when there is one; a client given
	// here is used as it is.
	HTTPClient *http.Client
	// OnJoinStep, if set, is called as a join passes each step: "token"
	// (the kit's access token is ready), "portal" (the portal's answer
	// is in), then the meeting.Step names. For the tap → media benchmark.
	OnJoinStep func(step string)
}

// Status is the kit's state as roomctl and the control API show it.
type Status struct {
	State           State            `json:"state"`
	RoomName        string           `json:"room_name,omitempty"`
	Location        string           `json:"location,omitempty"`
	TimeZone        string           `json:"time_zone,omitempty"`
	PortalURL       string           `json:"portal_url"`
	PortalConnected bool             `json:"portal_connected"`
	LastHeartbeat   time.Time        `json:"last_heartbeat,omitzero"`
	Version         string           `json:"version"`
	DeviceID        string           `json:"device_id,omitempty"`
	Devices         []drivers.Status `json:"devices"`
	Muted           bool             `json:"muted"` // the room's microphone: the mute button, the screen, roomctl
	Volume          int              `json:"volume"`
	Meeting         *MeetingStatus   `json:"meeting,omitempty"`
	Upcoming        []UpcomingStatus `json:"upcoming,omitempty"` // the room's meetings today
	UserCode        string           `json:"user_code,omitempty"`
	VerificationURI string           `json:"verification_uri,omitempty"`
	CodeExpiresAt   time.Time        `json:"code_expires_at,omitzero"`
	Message         string           `json:"message,omitempty"`
	Error           string           `json:"error,omitempty"`
	SettingsError   string           `json:"settings_error,omitempty"` // settings.json is unusable: defaults apply
	StorageError    string           `json:"storage_error,omitempty"`  // the state directory is unusable: nothing is kept
	UptimeSeconds   int64            `json:"uptime_seconds"`
}

// Metrics are the kit's counters since roomd started.
type Metrics struct {
	HeartbeatsOK       uint64
	HeartbeatsFailed   uint64
	PairingCodesIssued uint64
}

// Kit is one room kit.
type Kit struct {
	cfg          Config
	log          *slog.Logger
	now          func() time.Time
	sleep        func(ctx context.Context, d time.Duration) error // tests shorten waits
	started      time.Time
	renderer     *ui.Renderer // owned by the screen goroutine
	changed      chan struct{}
	baseLoc      *time.Location // the clock's zone until the portal sends the room's
	settingsLine string         // why settings.json is unused, for the screen
	portalErr    string         // why the kit will not talk to its portal at all (an http:// URL across a network)
	portalWarn   string         // the kit talks to its portal without encryption, as settings.json allows
	cam          camGate        // who reads the camera (devices.go)
	camWake      chan struct{}  // the Settings screen opened or closed
	devWG        sync.WaitGroup // the device tests' goroutines
	tests        *deviceTests   // owned by the screen goroutine: nil unless Settings is up
	runCtx       context.Context
	meetingsWake chan struct{}
	joinSession  func(context.Context, meeting.Config) (session, error)
	muteMu       sync.Mutex  // serialises mute changes: flag, LED and session agree
	micGate      atomic.Bool // the room is muted: the meeting's microphone is silenced

	mu          sync.Mutex
	running     bool
	state       State
	id          *provisioning.Identity
	client      *provisioning.Client
	saved       provisioning.State
	token       *provisioning.Token
	loc         *time.Location
	connected   bool
	lastBeat    time.Time
	code        *provisioning.DeviceAuthorization
	message     string
	errText     string    // shown with a countdown to retryAt
	retryAt     time.Time // zero: no countdown
	notice      string
	noticeUntil time.Time
	confirming  bool // the "Factory reset?" screen is up
	settings    bool // the settings screen is up (home's Settings: where Reset is)
	muted       bool // the room's microphone, toggled by the mute button
	volume      int  // the speaker's volume, 0..100
	joining     bool // asking the portal or connecting to a meeting
	joinCancel  context.CancelFunc
	meet        *inMeeting     // the meeting the kit is in (state InMeeting)
	keypad      *ui.KeypadView // the join keypad is up (state Ready)
	upcoming    []provisioning.Meeting
	testGen     int // bumped when the device tests start or stop: late results are dropped
	micLevel    float64
	tonePlaying bool
	preview     image.Image // the camera's picture while Settings is up
	metrics     Metrics
	cancelState context.CancelFunc
	storageErr  error  // why the state directory is unusable; nil: it is used
	recovering  bool   // the state was lost: ask the portal for the room before pairing
	recoverMsg  string // the message if the portal says the kit is not paired
	resetReq    bool
	resetDone   []chan error
}

// New checks cfg and returns a kit; Run starts it.
func New(cfg Config) (*Kit, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("appliance: no state directory")
	}
	if cfg.PortalURL == "" {
		return nil, errors.New("appliance: no portal URL")
	}
	if cfg.Display == nil {
		return nil, errors.New("appliance: no display")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 15 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = portalClient(cfg.Settings)
	}
	if cfg.SettingsErr != nil {
		cfg.Logger.Warn("settings file unusable: using defaults", "err", cfg.SettingsErr)
	}
	loc := settingsLocation(cfg.Settings, cfg.Logger)
	portalErr, portalWarn := portalLines(cfg.PortalURL, cfg.Settings.AllowPlainHTTP)
	if portalErr != "" {
		cfg.Logger.Error("refusing the portal URL", "portal", cfg.PortalURL, "err", provisioning.CheckPortalURL(cfg.PortalURL, cfg.Settings.AllowPlainHTTP))
	}
	if portalWarn != "" {
		cfg.Logger.Warn("plain HTTP to a portal beyond this machine, as settings.json allows: credentials cross the network unencrypted", "portal", cfg.PortalURL)
	}
	return &Kit{
		cfg:          cfg,
		log:          cfg.Logger,
		now:          cfg.Now,
		sleep:        provisioning.Sleep,
		started:      cfg.Now(),
		renderer:     ui.NewRenderer(cfg.Display.Bounds().Size()),
		changed:      make(chan struct{}, 1),
		camWake:      make(chan struct{}, 1),
		baseLoc:      loc,
		settingsLine: settingsWarning(cfg.SettingsErr),
		portalErr:    portalErr,
		portalWarn:   portalWarn,
		state:        Booting,
		loc:          loc,
		volume:       defaultVolume,
		meetingsWake: make(chan struct{}, 1),
		joinSession:  joinMeetingSession,
	}, nil
}

// Run runs the kit until ctx ends.
func (k *Kit) Run(ctx context.Context) error {
	k.mu.Lock()
	if k.running {
		k.mu.Unlock()
		return errors.New("appliance: Run called twice")
	}
	k.running = true
	k.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	k.runCtx = ctx
	var wg sync.WaitGroup
	wg.Go(func() { k.screen(ctx) })
	wg.Go(func() { k.watchCamera(ctx) })
	wg.Go(func() { k.watchPanel(ctx) })

	for ctx.Err() == nil {
		sctx, scancel := context.WithCancel(ctx)
		k.mu.Lock()
		k.cancelState = scancel
		st, reset := k.state, k.resetReq
		k.mu.Unlock()
		if !reset {
			switch st {
			case Booting:
				k.boot(sctx)
			case Pairing:
				k.pair(sctx)
			case Ready, InMeeting:
				k.ready(sctx)
			}
		}
		scancel()
		if k.resetPending() && ctx.Err() == nil {
			k.reset()
		}
	}
	cancel()
	wg.Wait()
	k.mu.Lock()
	k.endMeetingLocked()
	if k.state == InMeeting {
		k.state = Ready
	}
	k.mu.Unlock()
	k.devWG.Wait()
	k.mu.Lock()
	k.running = false
	for _, done := range k.resetDone {
		done <- errors.New("roomd is stopping")
	}
	k.resetDone, k.resetReq = nil, false
	k.mu.Unlock()
	return nil
}

// boot loads the identity and the state and decides between pairing and
// ready. A state directory the kit cannot use does not stop it: it runs
// from memory (storage.go). Only a kit that cannot even make a key in
// memory says so on screen and tries again.
func (k *Kit) boot(ctx context.Context) {
	err := k.load()
	if err == nil {
		return
	}
	k.log.Error("cannot use the kit's storage: running from memory, nothing will be kept", "dir", k.cfg.StateDir, "err", err)
	bo := newBackoff()
	for ctx.Err() == nil {
		merr := k.loadMemory(err)
		if merr == nil {
			return
		}
		k.log.Error("cannot make an identity", "err", merr)
		k.waitRetry(ctx, bo, merr, fmt.Sprintf("Cannot make the kit's identity (%v)", merr))
	}
}

func (k *Kit) load() error {
	id, err := provisioning.LoadOrCreateIdentity(k.cfg.StateDir)
	if err != nil {
		return err
	}
	var msg string
	st, err := provisioning.LoadState(k.cfg.StateDir)
	switch {
	case errors.Is(err, provisioning.ErrCorruptState):
		msg = msgCorrupt
		st = provisioning.State{Version: provisioning.StateVersion}
	case err != nil:
		return err
	}
	if id.Created {
		k.log.Info("new identity", "device_id", id.DeviceID)
	}
	if id.Replaced != nil {
		k.log.Warn("identity replaced: pairing again", "why", id.Replaced)
		msg = msgNewIdentity
	}
	// The key is kept apart from the state, so a damaged state file
	// need not cost the pairing: the portal still holds the key and can
	// say which room it belongs to. A kit that started the device flow
	// instead would get a code the admin center cannot use (the key is
	// already paired) until someone unpairs the room. A key from before
	// with no state written under it at all asks too, silently: the kit
	// may have lost power while recovering, after the damaged file was
	// moved aside.
	recovering, recoverMsg := false, ""
	switch {
	case msg == msgCorrupt && !id.Created:
		k.log.Warn("state file damaged: asking the portal for the room", "err", err)
		recovering, recoverMsg, msg = true, msgCorrupt, msgRecovering
	case msg == msgCorrupt:
		k.log.Warn("state file damaged: pairing again", "err", err)
	case msg == "" && !id.Created && st.DeviceID == "":
		k.log.Info("no state under this identity: asking the portal whether it is paired")
		recovering = true
	}
	paired := st.Paired(id.DeviceID)
	switch {
	case st.Room != nil && !paired:
		k.log.Warn("state belongs to another identity: pairing again", "state_device_id", st.DeviceID, "device_id", id.DeviceID)
		msg = msgNewIdentity
	case paired && st.PortalURL != "" && st.PortalURL != k.cfg.PortalURL:
		k.log.Warn("paired with another portal: pairing again", "paired_with", st.PortalURL, "portal", k.cfg.PortalURL)
		msg = fmt.Sprintf("This kit was paired with the portal at %s; pair it with %s.", st.PortalURL, k.cfg.PortalURL)
		paired = false
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	k.storageErr = nil
	k.id = id
	k.client = k.newClient(id)
	k.saved = st
	k.message = msg
	k.recovering, k.recoverMsg = recovering, recoverMsg
	k.errText, k.retryAt = "", time.Time{}
	if paired {
		k.setRoomLocked(*st.Room)
		k.state = Ready
		k.log.Info("paired", "room", st.Room.Name, "room_id", st.Room.ID)
	} else {
		k.saved.Room = nil
		k.state = Pairing
	}
	k.signal()
	return nil
}

func (k *Kit) newClient(id *provisioning.Identity) *provisioning.Client {
	return &provisioning.Client{PortalURL: k.cfg.PortalURL, HTTP: k.cfg.HTTPClient, Identity: id, Now: k.now,
		AllowPlainHTTP: k.cfg.Settings.AllowPlainHTTP}
}

// pair shows codes until one is approved. A code that runs out or is
// denied is replaced by a fresh one, so an unattended kit always shows a
// usable code.
func (k *Kit) pair(ctx context.Context) {
	if k.refusePortal(ctx) {
		return
	}
	if k.recoverPending() && !k.recoverRoom(ctx) {
		return
	}
	bo := newBackoff()
	label := k.cfg.Settings.Label
	if label == "" {
		label, _ = os.Hostname()
	}
	for ctx.Err() == nil {
		k.mu.Lock()
		client := k.client
		k.code = nil
		k.mu.Unlock()
		k.signal()

		da, err := client.StartPairing(ctx, label)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			k.log.Warn("cannot get a pairing code", "portal", k.cfg.PortalURL, "err", err)
			k.waitRetry(ctx, bo, err, k.failureLine(err))
			continue
		}
		// bo is reset only once a poll is answered: a portal that hands
		// out codes but refuses every poll must not make the kit ask for
		// a fresh code every second or two.
		k.log.Info("pairing code issued", "code", da)
		k.mu.Lock()
		k.code = da
		k.connected = true
		k.errText, k.retryAt = "", time.Time{}
		k.metrics.PairingCodesIssued++
		k.mu.Unlock()
		k.signal()

		if k.awaitApproval(ctx, client, da, bo) {
			return
		}
	}
}

// awaitApproval polls for da until it is approved (true) or a fresh code
// is needed (false).
func (k *Kit) awaitApproval(ctx context.Context, client *provisioning.Client, da *provisioning.DeviceAuthorization, bo *backoff) bool {
	for {
		// WaitForApproval sleeps before every poll; a second sleep means
		// the poll before it got an answer: the portal is there.
		polls := 0
		sleep := func(ctx context.Context, d time.Duration) error {
			if polls++; polls > 1 {
				k.online()
				bo.reset()
			}
			return k.sleep(ctx, d)
		}
		tok, err := client.WaitForApproval(ctx, da, sleep)
		switch {
		case err == nil:
			if err := k.paired(tok); err != nil {
				k.log.Error("cannot save the pairing", "err", err)
				k.waitRetry(ctx, bo, err, fmt.Sprintf("Cannot save the pairing (%v)", err))
				return false
			}
			bo.reset()
			return true
		case ctx.Err() != nil:
			return false
		case errors.Is(err, provisioning.ErrAccessDenied):
			k.log.Info("pairing code denied in the admin center")
			k.setMessage(msgDenied)
			return false
		case errors.Is(err, provisioning.ErrExpiredToken), errors.Is(err, provisioning.ErrInvalidGrant):
			k.log.Info("pairing code ran out: asking for a fresh one", "err", err)
			return false
		case errors.Is(err, provisioning.ErrUnreachable):
			k.log.Warn("cannot poll the portal", "err", err)
			k.waitRetry(ctx, bo, err, k.failureLine(err))
			if !k.now().Before(da.ExpiresAt) {
				return false
			}
		default:
			// invalid_client (the portal refused the assertion),
			// invalid_request and the like: start over, slowly; bo grows
			// until a poll is answered.
			k.log.Warn("portal refused the pairing poll", "err", err)
			k.waitRetry(ctx, bo, err, k.failureLine(err))
			return false
		}
	}
}

// paired saves the new pairing and switches to the home screen.
func (k *Kit) paired(tok *provisioning.Token) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	st := provisioning.State{
		Version:   provisioning.StateVersion,
		PortalURL: k.cfg.PortalURL,
		DeviceID:  k.id.DeviceID,
		Room:      tok.Room,
		PairedAt:  k.now().UTC(),
	}
	if err := k.saveStateLocked(st); err != nil {
		return err
	}
	k.saved = st
	k.token = tok
	k.state = Ready
	k.code = nil
	k.message, k.errText, k.retryAt = "", "", time.Time{}
	k.connected = true
	k.setRoomLocked(*tok.Room)
	k.log.Info("paired", "room", tok.Room.Name, "room_id", tok.Room.ID)
	k.signal()
	return nil
}

// ready keeps the kit in touch with the portal: a heartbeat every
// HeartbeatInterval. A portal that is down leaves the kit usable, only
// marked offline, while it retries with backoff.
func (k *Kit) ready(ctx context.Context) {
	if k.refusePortal(ctx) {
		return
	}
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { k.refreshMeetings(lctx) })
	bo := newBackoff()
	for {
		err := k.heartbeat(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := k.cfg.HeartbeatInterval
		switch {
		case err == nil:
			bo.reset()
		case errors.Is(err, provisioning.ErrNotPaired):
			// Only this explicit answer forgets the room. A refused
			// assertion (invalid_client for a clock that is off, a
			// replayed jti), a portal that is down or confused: all pass,
			// and forgetting on a guess would cost the room its pairing.
			k.log.Warn("the portal no longer knows this kit: it was unpaired", "err", err)
			k.unpair()
			return
		default:
			k.log.Warn("heartbeat failed", "portal", k.cfg.PortalURL, "err", err)
			wait = min(bo.next(), wait)
		}
		if k.sleep(ctx, wait) != nil {
			return
		}
	}
}

// heartbeat sends one heartbeat, getting an access token first when the
// kit has none or the portal refused the one it had.
func (k *Kit) heartbeat(ctx context.Context) error {
	err := k.heartbeatOnce(ctx)
	if errors.Is(err, provisioning.ErrInvalidToken) {
		k.mu.Lock()
		k.token = nil
		k.mu.Unlock()
		err = k.heartbeatOnce(ctx)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			k.metrics.HeartbeatsFailed++
			k.connected = false
		}
	} else {
		k.metrics.HeartbeatsOK++
		k.connected = true
		k.lastBeat = k.now()
	}
	k.signal()
	return err
}

func (k *Kit) heartbeatOnce(ctx context.Context) error {
	client, tok, err := k.accessToken(ctx)
	if err != nil {
		return err
	}
	room, err := client.Heartbeat(ctx, tok.AccessToken, k.report())
	if err != nil {
		return err
	}
	k.applyRoom(room)
	return nil
}

// accessToken returns the portal client and a current access token,
// asking for a new one when the kit has none or it is about to run out.
func (k *Kit) accessToken(ctx context.Context) (*provisioning.Client, *provisioning.Token, error) {
	k.mu.Lock()
	client, tok := k.client, k.token
	k.mu.Unlock()
	// Refresh a little early, so a token never runs out in flight.
	if tok == nil || !k.now().Before(tok.Expiry.Add(-30*time.Second)) {
		t, err := client.RefreshToken(ctx)
		if err != nil {
			return nil, nil, err
		}
		tok = t
		k.mu.Lock()
		k.token = t
		k.mu.Unlock()
		if t.Room != nil {
			k.applyRoom(*t.Room)
		}
	}
	return client, tok, nil
}

func (k *Kit) report() provisioning.Report {
	st := k.Status()
	return provisioning.Report{State: string(st.State), Version: st.Version, UptimeSeconds: st.UptimeSeconds, Devices: st.Devices}
}

// applyRoom takes the room's configuration from the portal: a rename in
// the admin center reaches the screen with the next heartbeat.
func (k *Kit) applyRoom(r provisioning.Room) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.saved.Room != nil && *k.saved.Room == r {
		return
	}
	st := k.saved
	st.Room = &r
	if err := k.saveStateLocked(st); err != nil {
		// The screen still shows the new name; the next heartbeat saves it.
		k.log.Error("cannot save the room's configuration", "err", err)
	} else {
		k.saved = st
	}
	k.log.Info("room configuration", "room", r.Name, "location", r.Location, "time_zone", r.TimeZone)
	k.setRoomLocked(r)
	k.signal()
}

// setRoomLocked applies r's time zone to the clock; a room without one
// keeps the installer's (settings.json), else UTC.
func (k *Kit) setRoomLocked(r provisioning.Room) {
	if k.saved.Room == nil || *k.saved.Room != r {
		rc := r
		k.saved.Room = &rc
	}
	k.loc = k.baseLoc
	if r.TimeZone != "" {
		loc, err := time.LoadLocation(r.TimeZone)
		if err != nil {
			k.log.Warn("unknown time zone: the clock keeps its zone", "time_zone", r.TimeZone, "clock", k.baseLoc, "err", err)
		} else {
			k.loc = loc
		}
	}
}

// unpair forgets the room (the admin center unpaired it) and goes back to
// pairing. The identity stays: the same kit can be paired again.
func (k *Kit) unpair() {
	k.mu.Lock()
	defer k.mu.Unlock()
	st := k.saved
	st.Room = nil
	st.PairedAt = time.Time{}
	if err := k.saveStateLocked(st); err != nil {
		k.log.Error("cannot save the unpaired state", "err", err)
	}
	k.saved = st
	k.token = nil
	k.loc = k.baseLoc
	k.endMeetingLocked()
	k.keypad, k.upcoming = nil, nil
	k.state = Pairing
	k.message = msgUnpaired
	k.signal()
}

// FactoryReset erases the kit's identity and pairing, makes a new identity
// and returns to pairing. It returns once that is done.
func (k *Kit) FactoryReset(ctx context.Context) error {
	done := make(chan error, 1)
	k.mu.Lock()
	if !k.running {
		k.mu.Unlock()
		return errors.New("the kit is not running")
	}
	k.requestResetLocked(done)
	k.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (k *Kit) requestResetLocked(done chan error) {
	k.resetReq = true
	if done != nil {
		k.resetDone = append(k.resetDone, done)
	}
	if k.cancelState != nil {
		k.cancelState()
	}
}

func (k *Kit) resetPending() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.resetReq
}

// reset runs on the state goroutine, with no state function running.
func (k *Kit) reset() {
	k.log.Warn("factory reset")
	k.mu.Lock()
	memory := k.storageErr != nil
	k.mu.Unlock()
	var id *provisioning.Identity
	var err error
	if memory {
		id, err = memoryIdentity()
	} else if err = provisioning.FactoryReset(k.cfg.StateDir); err == nil {
		id, err = provisioning.LoadOrCreateIdentity(k.cfg.StateDir)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.token, k.code = nil, nil
	k.recovering = false // a new identity has nothing to recover
	k.saved = provisioning.State{Version: provisioning.StateVersion}
	k.loc = k.baseLoc
	k.confirming, k.settings = false, false
	k.endMeetingLocked()
	k.keypad, k.upcoming = nil, nil
	if err != nil {
		k.log.Error("factory reset failed", "err", err)
		k.state = Booting // boot retries and says why on screen
	} else {
		k.log.Info("new identity", "device_id", id.DeviceID)
		k.id = id
		k.client = k.newClient(id)
		k.state = Pairing
		k.message = msgReset
		k.errText, k.retryAt = "", time.Time{}
	}
	for _, done := range k.resetDone {
		done <- err
	}
	k.resetDone, k.resetReq = nil, false
	k.signal()
}

// Status returns a snapshot of the kit's state.
func (k *Kit) Status() Status {
	devs := k.devices()
	m, tiles, ps, conn := k.meetingSnapshot()
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	s := Status{
		State:           k.state,
		PortalURL:       k.cfg.PortalURL,
		PortalConnected: k.connected,
		LastHeartbeat:   k.lastBeat,
		Version:         k.cfg.Version,
		Devices:         devs,
		Muted:           k.muted,
		Volume:          k.volume,
		Message:         k.message,
		Error:           k.errorLineLocked(now),
		SettingsError:   k.settingsLine,
		StorageError:    k.storageLineLocked(),
		UptimeSeconds:   int64(now.Sub(k.started) / time.Second),
	}
	if k.id != nil {
		s.DeviceID = k.id.DeviceID
	}
	if r := k.saved.Room; r != nil && (k.state == Ready || k.state == InMeeting) {
		s.RoomName, s.Location, s.TimeZone = r.Name, r.Location, r.TimeZone
	}
	if m != nil && k.meet == m {
		s.Meeting = k.meetingStatusLocked(m, tiles, ps, conn)
	}
	if k.state == Ready {
		for _, u := range k.upcomingLocked(now) {
			s.Upcoming = append(s.Upcoming, UpcomingStatus{ID: u.ID, Title: u.Title, Start: u.Start, End: u.End})
		}
	}
	if c := k.code; c != nil && k.state == Pairing {
		s.UserCode, s.VerificationURI, s.CodeExpiresAt = c.UserCode, c.VerificationURI, c.ExpiresAt
	}
	return s
}

// devices asks every device for its status. It takes none of the kit's
// locks, so view calls it with k.mu held; drivers lock their own state.
func (k *Kit) devices() []drivers.Status {
	var devs []drivers.Status
	if k.cfg.Camera != nil {
		devs = append(devs, k.cfg.Camera.Status())
	}
	if k.cfg.Speakerphone != nil {
		devs = append(devs, k.cfg.Speakerphone.Status())
	}
	devs = append(devs, k.cfg.Display.Status())
	if k.cfg.Input != nil {
		devs = append(devs, k.cfg.Input.Status())
	}
	if k.cfg.GPIO != nil {
		devs = append(devs, k.cfg.GPIO.Status())
	}
	return devs
}

// Metrics returns the kit's counters.
func (k *Kit) Metrics() Metrics {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.metrics
}

// failureLine is the error line for a failed portal request.
func (k *Kit) failureLine(err error) string {
	if errors.Is(err, provisioning.ErrUnreachable) {
		return "Cannot reach the portal at " + k.cfg.PortalURL
	}
	if errors.Is(err, provisioning.ErrInsecurePortal) {
		return "The portal named a plain http:// endpoint; the kit sends no credentials over it"
	}
	var oe *provisioning.OAuthError
	if errors.As(err, &oe) {
		return fmt.Sprintf("The portal refused the kit (%s)", oe.Code)
	}
	return "The portal gave an answer the kit does not understand"
}

// waitRetry shows what failed (err, in words: line) with a countdown and
// waits bo's next delay.
func (k *Kit) waitRetry(ctx context.Context, bo *backoff, err error, line string) {
	d := bo.next()
	k.mu.Lock()
	k.errText, k.retryAt = line, k.now().Add(d)
	if errors.Is(err, provisioning.ErrUnreachable) {
		k.connected = false
	}
	k.mu.Unlock()
	k.signal()
	k.sleep(ctx, d)
}

// online notes that the portal answered.
func (k *Kit) online() {
	k.mu.Lock()
	k.connected = true
	k.errText, k.retryAt = "", time.Time{}
	k.mu.Unlock()
	k.signal()
}

func (k *Kit) setMessage(m string) {
	k.mu.Lock()
	k.message = m
	k.mu.Unlock()
	k.signal()
}

func (k *Kit) errorLineLocked(now time.Time) string {
	if k.portalErr != "" {
		return k.portalErr // nothing else can happen until the URL is fixed
	}
	if k.errText == "" || k.retryAt.IsZero() {
		return k.errText
	}
	left := k.retryAt.Sub(now)
	if left <= 0 {
		return k.errText + " — retrying now"
	}
	return fmt.Sprintf("%s — retrying in %d s", k.errText, int((left+time.Second-1)/time.Second))
}

// signal wakes the screen goroutine to draw a frame now.
func (k *Kit) signal() {
	select {
	case k.changed <- struct{}{}:
	default:
	}
}

// screen owns the renderer: it draws on every change and once a second
// (the clock, the countdown, a device unplugged or back), and maps taps
// and keys to actions. While Settings is up it draws five times a second
// for the microphone meter and the camera preview, and runs the device
// tests (syncTests). In a meeting it looks 15 times a second for new
// video pictures and draws only when one arrived, so a meeting where
// nobody moves costs no more than the home screen.
func (k *Kit) screen(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	defer k.stopTests()
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
		v := k.view()
		if v.Meeting != nil {
			sig := frameSignature(v.Meeting, nil)
			if onlyIfMoved && sameFrames(sig, lastSig) && time.Since(lastDraw) < time.Second {
				return
			}
			lastSig = sig
		} else {
			lastSig = nil
		}
		lastDraw = time.Now()
		img := k.renderer.Render(v)
		err := k.cfg.Display.Show(img)
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
			switch ev.Kind {
			case input.Up:
				k.act(k.renderer.Hit(k.view(), image.Pt(ev.X, ev.Y)))
			case input.Key:
				k.act(ui.KeyAction(k.view(), ev.Key))
			default:
				continue
			}
		}
		want := time.Second
		switch {
		case k.syncTests(ctx):
			want = settingsFrameInterval
		case k.inMeeting():
			want = meetingFrameInterval
		}
		if want != every {
			every = want
			tick.Reset(every)
		}
		draw(ticked && every == meetingFrameInterval)
	}
}

func (k *Kit) inMeeting() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.state == InMeeting
}

// act does what a tap or key asked for. It runs on the screen goroutine.
func (k *Kit) act(a ui.Action) {
	if a.Kind == ui.None {
		return
	}
	k.log.Info("tap", "action", a.String())
	if a.Kind == ui.PlayTone {
		k.playTone()
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.actMeetingLocked(a)
	switch a.Kind {
	case ui.OpenReset:
		k.confirming = true
	case ui.CancelReset:
		k.confirming = false
	case ui.ConfirmedReset:
		k.confirming = false
		k.requestResetLocked(nil)
	case ui.OpenSettings:
		k.settings = true
	case ui.CloseSettings:
		k.settings = false
	}
}

// view is what the screen shows now.
func (k *Kit) view() ui.View {
	m, tiles, ps, conn := k.meetingSnapshot()
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	v := ui.View{
		Now:             now.In(k.loc),
		Version:         k.cfg.Version,
		PortalConnected: k.connected,
		Message:         k.message,
		Error:           k.errorLineLocked(now),
	}
	if now.Before(k.noticeUntil) {
		v.Notice = k.notice
	}
	for _, w := range []string{k.storageLineLocked(), k.settingsLine, k.portalWarn} {
		// Home has no information line: there a warning takes the error
		// line while the portal gives no error.
		switch {
		case w == "":
		case v.Error == "":
			v.Error = w
		case v.Message == "":
			v.Message = w
		}
	}
	switch k.state {
	case Booting:
		v.Screen = ui.Splash
	case Pairing:
		v.Screen = ui.Pairing
		if c := k.code; c != nil {
			v.UserCode = provisioning.FormatUserCode(c.UserCode)
			v.VerificationURI = c.VerificationURI
			v.VerificationURIComplete = c.VerificationURIComplete
			v.CodeExpiresIn = max(c.ExpiresAt.Sub(now), 0)
		}
	case Ready:
		v.Screen = ui.Home
		if r := k.saved.Room; r != nil {
			v.RoomName, v.Location = r.Name, r.Location
		}
		devs := k.devices()
		v.Banner = ui.MissingBanner(devs)
		for _, u := range k.upcomingLocked(now) {
			v.Upcoming = append(v.Upcoming, ui.UpcomingMeeting{ID: u.ID, Title: u.Title, Start: u.Start.In(k.loc), End: u.End.In(k.loc),
				InProgress: !now.Before(u.Start) && now.Before(u.End)})
		}
		switch {
		case k.settings:
			v.Screen = ui.Settings
			v.Settings = &ui.SettingsView{Devices: devs, MicLevel: k.micLevel, TonePlaying: k.tonePlaying, Preview: k.preview}
		case k.keypad != nil:
			v.Screen = ui.Keypad
			kp := *k.keypad
			v.Keypad = &kp
		}
	case InMeeting:
		v.Screen = ui.InMeeting
		if r := k.saved.Room; r != nil {
			v.RoomName, v.Location = r.Name, r.Location
		}
		// A missing device does not stop the meeting; the banner says
		// which, and a notice (a failed lock, say) takes its place for a
		// moment.
		v.Banner = ui.MissingBanner(k.devices())
		if v.Notice != "" {
			v.Banner = v.Notice
		}
		if m != nil && k.meet == m {
			k.meetingViewLocked(&v, m, tiles, ps, conn)
		}
	}
	if k.confirming && k.state != Booting {
		v.Screen = ui.ConfirmReset
	}
	return v
}

// backoff is exponential from 1 s to 60 s with ±20 % jitter, so a fleet
// of kits that lost the portal together does not return in lockstep.
type backoff struct{ n int }

func newBackoff() *backoff { return &backoff{} }

func (b *backoff) reset() { b.n = 0 }

func (b *backoff) next() time.Duration {
	d := time.Second << min(b.n, 6)
	b.n++
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	d = d.Round(100 * time.Millisecond)
	return min(max(d, time.Second), time.Minute)
}
