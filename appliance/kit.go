// Package appliance is roomd: the kit's state machine, which pairs the kit
// with the portal, keeps it in touch, and drives the screen.
//
// The states:
//
//	booting ──► pairing ──(code approved)──► ready ◄──► in-meeting
//	   ▲           ▲                           │ ▲           │
//	   │           └──(unpaired in the admin ──┴─┼───────────┘
//	   │               center, or reset)       ▼ │ (install failed)
//	   ├── (factory reset failed: load again)  updating
//	   └── (a sim kit's update "rebooted": Restart) ◄┘
//
// The files follow the kit's parts:
//
//	kit.go           the state loop (Run) and the factory reset
//	portallink.go    the portal link: identity, token, saved pairing, heartbeat
//	pairing.go       booting and pairing (RFC 8628), with the link
//	trust.go         which portal URLs the kit talks to; recovering a lost state
//	storage.go       running from memory when /perm is unusable
//	screen.go        the screen goroutine and the state it alone owns
//	actions.go       the action table: what each tap or key does
//	view.go          what the screen shows, from the parts' snapshots
//	meetings.go      the meeting controller: join, leave, mute, volume, organiser's controls
//	api.go           the Kit's methods for the control API (roomctl)
//	status.go        Status and Metrics
//	update.go        the update agent's Host: Room, Busy, BeginUpdate
//	devicetests.go   the camera watch and the Settings screen's device tests
//	panel.go         the GPIO panel: mute button and presence
//	settings.go      settings.json as it affects the kit
//	profile.go       configuration profiles from the portal, over settings.json
//
// Goroutines: one runs the state loop (boot, pair, keep in touch);
// another owns the screen (screen.go): it renders on every change and
// once a second, turns taps and keys into actions, and is the only one
// to touch the screen's own state — others post changes to it. The
// portal link and the meeting controller each lock their own fields.
// The devices have goroutines of their own: the camera watch, the
// Settings screen's device tests and the GPIO panel. In a meeting the
// kit keeps its heartbeat: the ready state's loop runs in both.
package appliance

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"roomkit/drivers/audio"
	"roomkit/drivers/camera"
	"roomkit/drivers/display"
	"roomkit/drivers/gpio"
	"roomkit/drivers/input"
	"roomkit/provisioning"
	"roomkit/settings"
	"roomkit/ui"
)

// State is what the kit is doing.
type State string

const (
	Booting   State = "booting"    // loading identity and state
	Pairing   State = "pairing"    // showing a code, waiting for the admin center
	Ready     State = "ready"      // paired: the home screen
	InMeeting State = "in-meeting" // in a meeting
	Updating  State = "updating"   // installing an update (update.go): joins are refused
)

// States lists every state, for metrics.
var States = []State{Booting, Pairing, Ready, InMeeting, Updating}

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

	// Settings are the installer's settings.json (settings.Load).
	// SettingsErr is why that file could not be used: Settings are then
	// the defaults, and the screen says so until the file is fixed.
	Settings    settings.Settings
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
	// Logs, if set, keeps the recent log lines an admin may fetch
	// (remote.go); Logger should write through Logs.Handler.
	Logs *LogRing
	// Reboot reboots the kit (gokrazy's POST /reboot); nil: a remote
	// reboot restarts the state machine, as a sim kit's update does.
	Reboot func(ctx context.Context) error

	// Configuration profiles (profile.go). Settings above are
	// settings.json as it is: roomd opens the drivers with
	// StartupSettings, which lays the saved profile over it.
	//
	// CameraNames lists the plugged cameras' names, for a profile's
	// camera preference; nil: Camera's name, if it is present.
	CameraNames func() []string
	// GPIOPins lists the board's GPIO pins ("GPIO17"); nil or empty:
	// the kit has no GPIO chip.
	GPIOPins func() []string
	// RestartRoomd starts roomd again so that its drivers open with a
	// profile's start-up settings (a real kit: roomd exits, gokrazy
	// starts it again); nil: the state machine restarts (Restart), as
	// an admin's restart does, which is all a sim kit's devices need.
	RestartRoomd func()
}

// Kit is one room kit: the state loop over its parts.
type Kit struct {
	cfg          Config
	log          *slog.Logger
	now          func() time.Time
	started      time.Time
	changed      chan struct{} // wakes the screen goroutine
	settingsLine string        // why settings.json is unused, for the screen
	portalWarn   string        // the kit talks to its portal without encryption, as settings.json allows

	link     *portalLink     // portallink.go
	meetings *meetingControl // meetings.go
	screen   screen          // screen.go: the screen goroutine's
	cam      *camera.Shared  // who reads the camera: the kit's watch or a meeting; nil without one
	camWake  chan struct{}   // the Settings screen opened or closed, or a meeting let go of the camera
	preview  atomic.Int64    // the device tests' generation while the camera preview is wanted, else 0
	devWG    sync.WaitGroup  // goroutines started for taps, meetings and device tests
	runCtx   context.Context // Run's: what taps start ends with it

	mu          sync.Mutex
	running     bool
	st          State   // Booting, Pairing, Ready or Updating; in a meeting is Ready with a meeting
	version     string  // the running version: Config.Version, until a sim kit's Restart
	updater     Updater // the update agent, nil without one (update.go)
	updateTo    string  // the version being installed, while Updating
	cancelState context.CancelFunc
	upSince     time.Time // Status's uptime: since New, or since the last Restart
	resetReq    bool
	resetDone   []chan error

	health kitHealth // the health tree and what it needs (health.go)

	profiles profiles // profile.go
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
	portalErr, portalWarn := portalLines(cfg.PortalURL, cfg.Settings.AllowPlainHTTP)
	if portalErr != "" {
		cfg.Logger.Error("refusing the portal URL", "portal", cfg.PortalURL, "err", provisioning.CheckPortalURL(cfg.PortalURL, cfg.Settings.AllowPlainHTTP))
	}
	if portalWarn != "" {
		cfg.Logger.Warn("plain HTTP to a portal beyond this machine, as settings.json allows: credentials cross the network unencrypted", "portal", cfg.PortalURL)
	}
	k := &Kit{
		cfg:          cfg,
		log:          cfg.Logger,
		now:          cfg.Now,
		started:      cfg.Now(),
		changed:      make(chan struct{}, 1),
		camWake:      make(chan struct{}, 1),
		settingsLine: settingsWarning(cfg.SettingsErr),
		portalWarn:   portalWarn,
		runCtx:       context.Background(),
		st:           Booting,
		version:      cfg.Version,
		upSince:      cfg.Now(),
	}
	k.screen = newScreen(ui.NewRenderer(cfg.Display.Bounds().Size()))
	k.link = newPortalLink(linkConfig{
		StateDir: cfg.StateDir, PortalURL: cfg.PortalURL, HTTPClient: cfg.HTTPClient,
		AllowPlainHTTP: cfg.Settings.AllowPlainHTTP, Label: cfg.Settings.Label,
		HeartbeatInterval: cfg.HeartbeatInterval, Logger: cfg.Logger, Now: cfg.Now,
		BaseLocation: settingsLocation(cfg.Settings, cfg.Logger),
		Report:       k.report, Signal: k.signal, Beat: k.health.beat, Policy: k.setPolicy,
		Actions: k.runActions, Meeting: k.meetingNow,
		Profile: k.takeConfig, ConfigStatus: k.configStatus,
	})
	if cfg.Camera != nil {
		k.cam = camera.NewShared(cfg.Camera)
	}
	k.meetings = &meetingControl{
		log: cfg.Logger, now: cfg.Now, link: k.link, ready: k.readyErr, events: screenEvents{k},
		cam: k.cam, camFree: k.wakeCamera, gpio: cfg.GPIO,
		joinSession: joinMeetingSession, bg: &k.devWG, wake: make(chan struct{}, 1), volume: defaultVolume,
		listed: k.health.meetings, onStep: cfg.OnJoinStep,
	}
	if cfg.Speakerphone != nil {
		k.meetings.mic = audio.NewMuteGate(cfg.Speakerphone)
	}
	k.loadProfiles()
	return k, nil
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
	wg.Go(func() { k.runScreen(ctx) })
	wg.Go(func() { k.watchCamera(ctx) })
	wg.Go(func() { k.watchPanel(ctx) })

	for ctx.Err() == nil {
		sctx, scancel := context.WithCancel(ctx)
		k.mu.Lock()
		k.cancelState = scancel
		st, reset := k.st, k.resetReq
		k.mu.Unlock()
		if !reset {
			switch st {
			case Booting:
				if paired, ok := k.link.boot(sctx); ok && paired {
					settle()
					k.setState(Ready)
				} else if ok {
					k.setState(Pairing)
				}
			case Pairing:
				if k.link.pair(sctx) {
					settle()
					k.setState(Ready)
				}
			case Ready, Updating:
				// While an update installs, the kit stays in touch: the
				// agent's report goes out with the heartbeat.
				k.keepReady(sctx)
			}
		}
		scancel()
		if k.resetPending() && ctx.Err() == nil {
			k.reset()
		}
	}
	cancel()
	wg.Wait()
	k.meetings.endAll()
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

// settle hands the memory that starting or pairing left behind back to
// the system before the kit settles on its home screen, where it may sit
// idle for weeks: one collection now, instead of leaving the pages to Go's
// background scavenger, which returns them a little at a time, and only
// what lies beyond its margin over the heap's goal. The collector's own
// pacing is left as Go sets it.
func settle() { debug.FreeOSMemory() }

// keepReady is the ready state (and in-meeting, which is ready with a
// meeting): the heartbeat and today's meetings, until the portal says
// the kit was unpaired or ctx ends.
func (k *Kit) keepReady(ctx context.Context) {
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { k.meetings.refreshUpcoming(lctx) })
	err := k.link.keepInTouch(ctx)
	cancel()
	wg.Wait()
	if errors.Is(err, errUnpaired) {
		// The state first, so that a join under way sees it and gives up.
		k.setState(Pairing)
		k.meetings.endAll()
		k.screen.post(k, func(s *screenState) { s.keypad = nil })
	}
}

// state is the kit's state, Ready in a meeting too.
func (k *Kit) state() State {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.st
}

func (k *Kit) setState(st State) {
	k.mu.Lock()
	k.st = st
	k.mu.Unlock()
	k.signal()
}

// readyErr says why the kit may not join a meeting (not paired, a reset
// or an update under way), nil when it may.
func (k *Kit) readyErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.st == Updating:
		return ErrUpdating
	case k.st != Ready || k.resetReq:
		return ErrNotReady
	}
	return nil
}

// runningVersion is the version the kit runs.
func (k *Kit) runningVersion() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.version
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
	if k.st == Updating {
		// The agent is about to reboot into the new root: a reset now
		// would race it. The kit is back in a minute.
		k.mu.Unlock()
		return ErrUpdating
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

// requestReset asks the state loop for a factory reset (the screen's
// confirmation, or FactoryReset).
func (k *Kit) requestReset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requestResetLocked(nil)
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
	k.meetings.endAll()
	err := k.link.reset()
	if err == nil {
		// Back to settings.json alone; drivers opened with the profile's
		// settings restart once the kit is paired and idle.
		k.takeConfig(false, nil, nil)
	}
	k.screen.post(k, func(s *screenState) { s.confirming, s.settings, s.keypad = false, false, nil })
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		k.st = Booting // boot retries and says why on screen
	} else {
		k.st = Pairing
	}
	for _, done := range k.resetDone {
		done <- err
	}
	k.resetDone, k.resetReq = nil, false
	k.signal()
}

// signal wakes the screen goroutine to draw a frame now.
func (k *Kit) signal() {
	select {
	case k.changed <- struct{}{}:
	default:
	}
}
