// Package agent is the kit's update agent: one goroutine that checks the
// signed repository for a newer release, streams it to the inactive root
// partition through gokrazy, installs it inside the room's maintenance
// window (or when an admin asks) and never during a meeting, boots it once
// on trial and makes it permanent only when the kit stays healthy with the
// same camera and speakerphone; otherwise the kit reboots into the old root
// and the version is blocked.
//
// Rules it keeps:
//   - Every step is written to StateDir/state.json (atomically, fsynced)
//     before the gokrazy call it leads to, so a power cut at any moment
//     resumes at the right step, on whichever root comes up.
//   - Nothing is installed that the signed metadata does not describe:
//     gokrazy's SHA-256 of what it wrote must equal the signed one, and
//     the partition is read back against it again before any testboot.
//     The stream is bounded by the signed length.
//   - Nothing at or below the floor (the running version and the highest
//     one ever committed) is installed, nor a version that rolled back.
//   - gokrazy's root upload is refused while the kit runs from the other
//     root than its command line names (ota/gokrazy's guard).
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"roomkit/health"
	"roomkit/ota"
	"roomkit/ota/gokrazy"
	"roomkit/ota/tufclient"
)

// Host is what the agent needs of the kit (appliance.Kit implements it).
type Host interface {
	// Health is the kit's tree without the Updates check's own verdict in
	// the way.
	Health(now time.Time) health.Report
	// Room is the paired room's device ID and time zone; ok false while
	// the kit is not paired.
	Room() (deviceID string, loc *time.Location, ok bool)
	// Busy is "" when no meeting runs or is joining; else a reason: "a
	// meeting is running".
	Busy() string
	// ClockOffset is how far the portal's clock is ahead of the kit's,
	// measured over the portal link; known false until measured. The
	// agent judges signed metadata's expiry with the kit's clock only
	// once it is within ClockTolerance of the portal's.
	ClockOffset() (offset time.Duration, known bool)
	// BeginUpdate atomically checks the kit is not busy and puts it in
	// its Updating state (screen "Updating — back in a minute", joins
	// refused); release undoes that when the update stops short of a
	// reboot.
	BeginUpdate(version string) (release func(), ok bool)
}

// Config is the agent's configuration.
type Config struct {
	Host     Host
	StateDir string // e.g. /perm/roomkit/ota; "": memory only
	Repo     tufclient.Config
	Target   string // amd64 | rpi4 | sim
	Version  string // the running version
	Gokrazy  *gokrazy.Client
	Log      *slog.Logger
	// Timings (zero: defaults): CheckEvery 1 h ± 30 min, Settle 2 min
	// (healthy this long in a row commits a trial), Deadline 10 min (not
	// settled by then after the trial boot started: roll back).
	CheckEvery, Settle, Deadline time.Duration
	// OnReboot, for sim kits, is called after the (fake) gokrazy
	// rebooted, from Run's goroutine as the last thing Run does: it must
	// not wait for Run to return. The caller then starts a new Agent
	// for the new boot. Nil: a real reboot ends the process.
	OnReboot func()
}

// Defaults.
const (
	DefaultCheckEvery = time.Hour
	DefaultSettle     = 2 * time.Minute
	DefaultDeadline   = 10 * time.Minute

	// ClockTolerance is how far the kit's clock may be from the
	// portal's for the agent to trust it with the metadata's expiry:
	// far below the days a repository's timestamp lasts.
	ClockTolerance = 5 * time.Minute

	trialTick        = 5 * time.Second
	waitRetry        = 30 * time.Second // not paired, clock not set: look again
	busyRetry        = 30 * time.Second
	maxTrials        = 3 // trial boots without a verdict before giving up
	maxTrialRestarts = 5 // roomd starts within one trial boot before it fails
	maxDownloadErr   = 5 // download failures in a row before [failed]
	saveEvery        = 8 << 20
	rebootPatience   = 5 * time.Minute // a reboot that did not happen by then failed
)

// Agent is the update agent. Run drives it; the other methods are safe
// to call from any goroutine.
type Agent struct {
	cfg Config
	log *slog.Logger
	st  store
	src source
	gk  *gokrazy.Client

	// Test seams: the clock, how the loop waits, the download's save
	// interval, and a hook after each state write (a simulated power
	// cut returns an error from it, which Run returns).
	now       func() time.Time
	after     func(time.Duration) <-chan time.Time
	saveEvery int64
	saved     func(state) error
	reconnect time.Duration // pause before a download reconnects
	busyRate  int64         // download bytes/s during a meeting (0: no limit)
	sleep     func(time.Duration)
	wakeHook  func() // replaces the kick channel (a fake clock wakes the loop)
	// firstCheck is how long after the start the first check waits, so
	// a building's kits back from a power cut do not all ask at once.
	firstCheck time.Duration
	// held is the outcome (healthy, rolled back, failed) on show before
	// the agent began waiting for the clock: the check that follows keeps
	// it on show when it finds nothing new. Run's goroutine only.
	held *ota.Status

	s state // Run's goroutine only

	// Run's goroutine only: this process's view of the current step.
	nextCheck    time.Time
	healthySince time.Time
	release      func()
	rebootAsked  time.Time
	downloadErrs int
	resumedFrom  int64  // the last download's read-back prefix (tests)
	kernel       string // the running kernel's release ("" : not checked)

	kick chan struct{}

	mu        sync.Mutex
	policy    *ota.Policy
	status    ota.Status
	available string
	request   string // the last "update now" request taken, as saved
	checked   time.Time
	checkErr  string
	trial     bool
}

// New checks cfg and returns an agent; Run starts it.
func New(cfg Config) (*Agent, error) {
	if cfg.Host == nil || cfg.Gokrazy == nil {
		return nil, errors.New("update agent: Host and Gokrazy are required")
	}
	if cfg.Target == "" || cfg.Version == "" {
		return nil, errors.New("update agent: Target and Version are required")
	}
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = DefaultCheckEvery
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.Deadline <= 0 {
		cfg.Deadline = DefaultDeadline
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	a := &Agent{
		cfg:        cfg,
		log:        cfg.Log.With("module", "ota"),
		st:         store{dir: cfg.StateDir},
		src:        tufSource{cfg.Repo},
		gk:         cfg.Gokrazy,
		now:        time.Now,
		after:      time.After,
		saveEvery:  saveEvery,
		saved:      func(state) error { return nil },
		reconnect:  2 * time.Second,
		busyRate:   busyRate,
		sleep:      time.Sleep,
		firstCheck: firstDelay(cfg.CheckEvery),
		kick:       make(chan struct{}, 1),
	}
	if cfg.Target != "sim" {
		a.kernel = kernelRelease()
	}
	a.status = ota.Status{State: ota.Idle}
	return a, nil
}

// SetPolicy hands the agent the portal's latest answer about updates. A
// changed policy, or a new install-now request, wakes the agent.
func (a *Agent) SetPolicy(p ota.Policy) {
	a.mu.Lock()
	changed := a.policy == nil || *a.policy != p
	a.policy = &p
	a.mu.Unlock()
	if changed {
		a.wake()
	}
}

func (a *Agent) wake() {
	if a.wakeHook != nil {
		a.wakeHook()
		return
	}
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func (a *Agent) currentPolicy() (ota.Policy, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.policy == nil {
		return ota.Policy{}, false
	}
	return *a.policy, true
}

// Report is the update state for the heartbeat and roomctl status.
func (a *Agent) Report() ota.Report {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := ota.Report{Status: a.status, Available: a.available, Request: a.request}
	if a.status.Last != nil {
		l := *a.status.Last
		r.Last = &l
	}
	if a.policy != nil {
		r.Channel = a.policy.Channel
	}
	return r
}

// Health is the Updates check (health.NameUpdates): degraded during a
// trial boot, after a rollback and while a check or download is retried;
// failed after an update failed, until the next success.
func (a *Agent) Health(now time.Time) health.Result {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.status
	switch {
	case a.trial:
		return health.Degrade("%s", st.Detail)
	case st.State == ota.Failed:
		return health.Fail("%s", st.Error)
	case st.State == ota.RolledBack:
		return health.Degrade("%s", st.Detail)
	case st.Error != "":
		return health.Degrade("%s", st.Error)
	case st.State == ota.Idle && a.checked.IsZero():
		return health.Pass("%s, not checked yet", a.cfg.Version)
	case st.State == ota.Idle || st.State == ota.Healthy:
		ago := health.Seconds(now.Sub(a.checked).Truncate(time.Second))
		if a.available == "" {
			return health.Pass("%s, up to date (checked %s ago)", a.cfg.Version, ago)
		}
		return health.Pass("%s (checked %s ago)", st.Detail, ago)
	}
	return health.Pass("%s", st.Detail)
}

// show sets the reported status.
func (a *Agent) show(state ota.State, detail string) {
	a.mu.Lock()
	a.status.State = state
	a.status.Detail = oneLine(detail)
	a.status.Error = ""
	if state == ota.Failed {
		a.status.Error = a.status.Detail
	}
	a.status.TargetVersion = ""
	if a.s.Target != nil {
		a.status.TargetVersion = a.s.Target.Version
	}
	if state != ota.Downloading {
		a.status.Progress = 0
	}
	a.status.Last = a.s.Last
	a.trial = a.s.Phase == phaseTrial && state != ota.RolledBack
	a.mu.Unlock()
}

// showError keeps the state and adds a passing problem (a check or a
// download to retry).
func (a *Agent) showError(msg string) {
	a.mu.Lock()
	a.status.Error = oneLine(msg)
	a.mu.Unlock()
}

// oneLine fits a sentence into what the portal accepts in a heartbeat
// (ota.Report.Validate): one line of at most ota.MaxErrorLen bytes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= ota.MaxErrorLen {
		return s
	}
	cut := ota.MaxErrorLen - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// save writes the state; a write that fails leaves the update waiting.
func (a *Agent) save() error {
	if err := a.st.save(a.s); err != nil {
		return err
	}
	a.mu.Lock()
	a.request = a.s.RequestID
	a.mu.Unlock()
	return a.saved(a.s)
}

// errStop ends Run without an error: the sim kit rebooted.
var errStop = errors.New("rebooted")

// Run drives the agent until ctx ends (nil) or, for a sim kit, until the
// fake gokrazy rebooted (nil, after OnReboot). It returns an error only
// when the state cannot be read, or written while reconciling a boot;
// later storage trouble is shown in the report and retried.
func (a *Agent) Run(ctx context.Context) error {
	s, err := a.st.load()
	if err != nil {
		return err
	}
	a.s = s
	a.mu.Lock()
	a.request = s.RequestID
	a.mu.Unlock()
	a.nextCheck = a.now().Add(a.firstCheck)
	if err := a.boot(ctx); err != nil {
		return a.ended(ctx, err)
	}
	for {
		wait, err := a.step(ctx)
		if err != nil {
			return a.ended(ctx, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.kick:
		case <-a.after(wait):
		}
	}
}

func (a *Agent) ended(ctx context.Context, err error) error {
	if errors.Is(err, errStop) {
		a.cfg.OnReboot()
		return nil
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// step takes the next step of the current phase and says how long to
// wait before the next one. Errors it returns end Run: only a stop or a
// failed state hook; everything else is shown and retried.
func (a *Agent) step(ctx context.Context) (time.Duration, error) {
	if a.s.Phase == phaseDownloading || a.s.Phase == phaseDownloaded {
		if err := a.takeRequest(); err != nil {
			return a.stateError(err)
		}
	}
	switch a.s.Phase {
	case phaseDownloading:
		return a.download(ctx)
	case phaseDownloaded:
		return a.install(ctx)
	case phaseTestbootSet, phaseRebooting:
		// This process asked for the reboot and still runs.
		return a.awaitReboot()
	case phaseTrial:
		return a.judgeTrial(ctx)
	case phaseSwitching:
		return a.commit(ctx)
	case phaseCommitted:
		return 0, a.finish()
	}
	return a.check(ctx)
}

// check asks the repository for a newer release when it is time, or when
// an admin asked for an install now. A check that is due but cannot run
// (no policy from the portal yet, not paired, the clock not set) runs as
// soon as it can: the policy wakes the agent, the others are looked at
// every waitRetry.
func (a *Agent) check(ctx context.Context) (time.Duration, error) {
	now := a.now()
	p, ok := a.currentPolicy()
	requested := ok && p.InstallNow != "" && p.InstallNow != a.s.RequestID
	if !requested && now.Before(a.nextCheck) {
		return a.nextCheck.Sub(now), nil
	}
	if !ok {
		a.idle("waiting for the portal's update policy")
		return a.cfg.CheckEvery, nil
	}
	if _, _, paired := a.cfg.Host.Room(); !paired {
		a.idle("not paired with a room: no updates")
		return min(waitRetry, a.cfg.CheckEvery), nil
	}
	if !a.clockTrusted() {
		a.waitForClock()
		return min(waitRetry, a.cfg.CheckEvery), nil
	}
	a.nextCheck = now.Add(a.checkInterval())
	a.mu.Lock()
	prev := a.status
	if a.held != nil {
		prev, a.held = *a.held, nil
	}
	a.mu.Unlock()
	a.show(ota.Checking, "checking for a newer release")
	floor := a.cfg.Version
	if ota.Compare(a.s.Floor, floor) > 0 {
		floor = a.s.Floor
	}
	c, found, err := a.src.Latest(ctx, p.Channel, a.cfg.Target, floor)
	a.mu.Lock()
	a.checked = now
	a.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		a.log.Warn("update check failed", "err", err)
		a.idleAs(prev, "could not check for updates")
		a.showError(err.Error())
		return a.nextCheck.Sub(now), nil
	}
	if requested {
		// Saved at once: the report tells the portal the request was
		// taken, whatever comes of it.
		a.s.RequestID = p.InstallNow
		if err := a.save(); err != nil {
			return a.stateError(err)
		}
	}
	v := c.Release.Version
	switch {
	case !found:
		a.setAvailable("")
		if requested {
			a.s.InstallNow = false
			if err := a.save(); err != nil {
				return a.stateError(err)
			}
			a.idleAs(prev, fmt.Sprintf("asked to update now: %s is the newest release", a.cfg.Version))
		} else {
			a.idleAs(prev, fmt.Sprintf("%s, up to date", a.cfg.Version))
		}
		return a.nextCheck.Sub(now), nil
	case a.s.blocked(v):
		a.setAvailable("")
		a.idleAs(prev, fmt.Sprintf("%s rolled back here before; waiting for a newer release", v))
		return a.nextCheck.Sub(now), nil
	}
	a.setAvailable(v)
	if k := c.Release.Kernel; k != "" && a.kernel != "" && k != a.kernel {
		// The boot partition is not A/B: a root for another kernel
		// would boot without its modules.
		a.idleAs(prev, fmt.Sprintf("%s needs the kernel %s (this kit runs %s): reflash this kit to install it", v, k, a.kernel))
		return a.nextCheck.Sub(now), nil
	}
	if !requested {
		switch {
		case p.Paused:
			a.idleAs(prev, fmt.Sprintf("%s is available; the rollout is paused%s", v, colon(p.PauseReason)))
			return a.nextCheck.Sub(now), nil
		case p.Allowed == "" || ota.Compare(v, p.Allowed) > 0:
			a.idleAs(prev, fmt.Sprintf("%s is available; the rollout has not reached this room yet", v))
			return a.nextCheck.Sub(now), nil
		}
	}
	a.s.Phase = phaseDownloading
	a.s.Target = &target{Version: v, Path: c.Path, URL: c.URL, Length: c.Length,
		SHA256: fmt.Sprintf("%x", c.SHA256), Target: c.Release.Target, Kernel: c.Release.Kernel}
	a.s.Written, a.s.Attempts, a.s.Verdict, a.s.Error = 0, 0, "", ""
	a.s.InstallNow = requested
	a.downloadErrs = 0
	if err := a.save(); err != nil {
		return a.stateError(err)
	}
	a.log.Info("update found", "version", v, "length", c.Length, "now", requested)
	return 0, nil
}

// takeRequest makes an admin's new install-now request apply to the
// release under way: it installs as soon as it is downloaded.
func (a *Agent) takeRequest() error {
	p, ok := a.currentPolicy()
	if !ok || p.InstallNow == "" || p.InstallNow == a.s.RequestID {
		return nil
	}
	a.s.RequestID, a.s.InstallNow = p.InstallNow, true
	return a.save()
}

func colon(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// clockTrusted says whether the kit's clock agrees with the portal's:
// go-tuf judges every metadata file's expiry by it, so a clock years off
// would refuse every release as expired, or accept a frozen repository.
func (a *Agent) clockTrusted() bool {
	off, known := a.cfg.Host.ClockOffset()
	return known && off.Abs() <= ClockTolerance
}

// waitForClock shows [checking] until the clock is trusted: not an error,
// the portal link sets it within a heartbeat or two. An update's outcome
// on show comes back once the check ran.
func (a *Agent) waitForClock() {
	a.mu.Lock()
	switch st := a.status; st.State {
	case ota.Healthy, ota.RolledBack, ota.Failed:
		if a.held == nil {
			a.held = &st
		}
	}
	a.mu.Unlock()
	a.show(ota.Checking, "waiting for the clock to be set before checking signatures")
}

// firstDelay is how long the first check after a start waits: 1–5 min,
// so a building's kits back from a power cut spread out, but never more
// than every (a demo's -ota-check 15s checks within 15 s).
func firstDelay(every time.Duration) time.Duration {
	lo, spread := time.Minute, 4*time.Minute
	if every < lo+spread {
		lo, spread = every/2, every-every/2
	}
	return lo + time.Duration(rand.Int64N(int64(spread)+1))
}

// checkInterval is CheckEvery ± half of it, so a fleet spreads out.
func (a *Agent) checkInterval() time.Duration {
	e := a.cfg.CheckEvery
	return e/2 + time.Duration(rand.Int64N(int64(e)))
}

func (a *Agent) setAvailable(v string) {
	a.mu.Lock()
	a.available = v
	a.mu.Unlock()
}

// idle shows [idle] with detail.
func (a *Agent) idle(detail string) { a.show(ota.Idle, detail) }

// idleAs keeps a finished update's outcome (healthy, rolled-back,
// failed) on show while a check finds nothing new; else idle with detail.
func (a *Agent) idleAs(prev ota.Status, detail string) {
	switch prev.State {
	case ota.Healthy, ota.RolledBack, ota.Failed:
		a.mu.Lock()
		prev.Last = a.s.Last
		a.status = prev
		a.mu.Unlock()
		return
	}
	a.show(ota.Idle, detail)
}

// stateError shows that the state cannot be written and waits: the
// update goes on once storage works again. A test's simulated power cut
// ends Run.
func (a *Agent) stateError(err error) (time.Duration, error) {
	if errors.Is(err, errPowerCut) {
		return 0, err
	}
	a.log.Error("update state", "err", err)
	// Carry on from what is durable, not from the step that was not
	// recorded.
	if s, lerr := a.st.load(); lerr == nil {
		a.s = s
	}
	a.showError("The kit cannot write its update state (" + err.Error() + "): the update waits")
	return time.Minute, nil
}

// errPowerCut is what a test's state hook returns to cut the power.
var errPowerCut = errors.New("power cut")
