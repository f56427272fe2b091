package appliance

// The portal link: everything the kit keeps about its portal — the
// identity and the portal client, the saved pairing, the access token,
// the last heartbeat — and the calls that keep it current. Pairing
// (pairing.go) and the heartbeat (below) are its two loops; the meeting
// controller borrows its tokens (withToken). It knows nothing of the
// screen: it says what changed through signal, and the kit's state loop
// (kit.go) turns what its loops return into states.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"roomkit/internal/clock"
	"roomkit/ota"
	"roomkit/portalapi"
	"roomkit/profile"
	"roomkit/provisioning"
)

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

// errUnpaired is what keepInTouch returns when the portal said the kit is
// no longer paired: the kit pairs again.
var errUnpaired = errors.New("unpaired in the admin center")

// linkConfig is what the portal link needs of the kit's Config.
type linkConfig struct {
	StateDir          string
	PortalURL         string
	HTTPClient        *http.Client
	AllowPlainHTTP    bool
	Label             string // the kit's name while pairing; "" is the host name
	HeartbeatInterval time.Duration
	Logger            *slog.Logger
	Now               func() time.Time
	BaseLocation      *time.Location // the clock's zone until the portal sends the room's
	// Report is the heartbeat's body: the kit's state and devices, and
	// the update agent's report when withUpdate (the portal's last
	// answer carried an update policy, so it knows the field).
	Report func(withUpdate bool) portalapi.Report
	// Policy, if set, hears each heartbeat answer's update policy.
	Policy func(ota.Policy)
	// Signal says that something shown changed.
	Signal func()
	// Beat, if set, hears each heartbeat's outcome (the health tree).
	Beat func(now time.Time, err error)
	// Actions, if set, carries out the admins' remote actions (remote.go);
	// Meeting is the heartbeat's "meeting".
	Actions func([]portalapi.Action)
	Meeting func() *portalapi.MeetingNow
	// Profile, if set, hears each answer's "config" (profile.go):
	// known, the config (nil if unreadable) and its invalid fields.
	// ConfigStatus is the heartbeat's "config", sent once an answer
	// carried one.
	Profile      func(known bool, c *profile.Config, invalid []profile.Rejection)
	ConfigStatus func() *profile.Status
}

// portalLink is the kit's link with its portal.
type portalLink struct {
	cfg       linkConfig
	log       *slog.Logger
	now       func() time.Time
	sleep     func(ctx context.Context, d time.Duration) error // tests shorten waits
	portalErr string                                           // why the kit will not talk to its portal at all (an http:// URL across a network)

	mu         sync.Mutex
	id         *provisioning.Identity
	client     *portalapi.Client
	saved      provisioning.State
	token      *portalapi.Token
	loc        *time.Location
	connected  bool
	lastBeat   time.Time
	code       *portalapi.DeviceAuthorization
	message    string
	errText    string    // shown with a countdown to retryAt
	retryAt    time.Time // zero: no countdown
	metrics    Metrics
	storageErr error  // why the state directory is unusable; nil: it is used
	recovering bool   // the state was lost: ask the portal for the room before pairing
	recoverMsg string // the message if the portal says the kit is not paired
	// policySeen: the last heartbeat answer carried an update policy, so
	// the portal knows the heartbeat's "update"; an older portal refuses
	// a heartbeat with fields it does not know.
	policySeen bool
	// configSeen: the last answer carried "config", so the portal knows
	// the heartbeat's "config" (as policySeen).
	configSeen bool
	remote     remoteState // remote.go
}

func newPortalLink(cfg linkConfig) *portalLink {
	l := &portalLink{cfg: cfg, log: cfg.Logger, now: cfg.Now, sleep: clock.Sleep, loc: cfg.BaseLocation}
	l.portalErr, _ = portalLines(cfg.PortalURL, cfg.AllowPlainHTTP)
	return l
}

// linkStatus is a snapshot of the link, for the screen and the status.
type linkStatus struct {
	DeviceID    string
	Room        *provisioning.Room // the paired room, nil while pairing
	Location    *time.Location     // the room's clock
	Connected   bool
	LastBeat    time.Time
	Code        *portalapi.DeviceAuthorization // the pairing code shown
	Message     string
	Error       string // what failed, with its countdown
	StorageLine string // the kit runs without storage
	Metrics     Metrics
}

func (l *portalLink) status(now time.Time) linkStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := linkStatus{Room: l.saved.Room, Location: l.loc, Connected: l.connected, LastBeat: l.lastBeat, Code: l.code,
		Message: l.message, Error: l.errorLineLocked(now), StorageLine: l.storageLineLocked(), Metrics: l.metrics}
	if l.id != nil {
		s.DeviceID = l.id.DeviceID
	}
	return s
}

// clockOffset is the portal client's measured clock offset.
func (l *portalLink) clockOffset() (time.Duration, bool) {
	l.mu.Lock()
	c := l.client
	l.mu.Unlock()
	if c == nil {
		return 0, false
	}
	return c.MeasuredClockOffset()
}

func (l *portalLink) newClient(id *provisioning.Identity) *portalapi.Client {
	return &portalapi.Client{PortalURL: l.cfg.PortalURL, HTTP: l.cfg.HTTPClient, Identity: id, Now: l.now,
		AllowPlainHTTP: l.cfg.AllowPlainHTTP}
}

// load loads the identity and the state and reports whether the kit is
// paired.
func (l *portalLink) load() (paired bool, err error) {
	id, err := provisioning.LoadOrCreateIdentity(l.cfg.StateDir)
	if err != nil {
		return false, err
	}
	var msg string
	st, err := provisioning.LoadState(l.cfg.StateDir)
	switch {
	case errors.Is(err, provisioning.ErrCorruptState):
		msg = msgCorrupt
		st = provisioning.State{Version: provisioning.StateVersion}
	case err != nil:
		return false, err
	}
	if id.Created {
		l.log.Info("new identity", "device_id", id.DeviceID)
	}
	if id.Replaced != nil {
		l.log.Warn("identity replaced: pairing again", "why", id.Replaced)
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
		l.log.Warn("state file damaged: asking the portal for the room", "err", err)
		recovering, recoverMsg, msg = true, msgCorrupt, msgRecovering
	case msg == msgCorrupt:
		l.log.Warn("state file damaged: pairing again", "err", err)
	case msg == "" && !id.Created && st.DeviceID == "":
		l.log.Info("no state under this identity: asking the portal whether it is paired")
		recovering = true
	}
	paired = st.Paired(id.DeviceID)
	switch {
	case st.Room != nil && !paired:
		l.log.Warn("state belongs to another identity: pairing again", "state_device_id", st.DeviceID, "device_id", id.DeviceID)
		msg = msgNewIdentity
	case paired && st.PortalURL != "" && st.PortalURL != l.cfg.PortalURL:
		l.log.Warn("paired with another portal: pairing again", "paired_with", st.PortalURL, "portal", l.cfg.PortalURL)
		msg = fmt.Sprintf("This kit was paired with the portal at %s; pair it with %s.", st.PortalURL, l.cfg.PortalURL)
		paired = false
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	l.storageErr = nil
	l.id = id
	l.client = l.newClient(id)
	l.saved = st
	l.message = msg
	l.recovering, l.recoverMsg = recovering, recoverMsg
	l.errText, l.retryAt = "", time.Time{}
	l.loadRemoteLocked()
	if paired {
		l.setRoomLocked(*st.Room)
		l.log.Info("paired", "room", st.Room.Name, "room_id", st.Room.ID)
	} else {
		l.saved.Room = nil
	}
	l.cfg.Signal()
	return paired, nil
}

// keepInTouch keeps the kit in touch with the portal: a heartbeat every
// HeartbeatInterval. A portal that is down leaves the kit usable, only
// marked offline, while it retries with backoff. It returns errUnpaired
// once the portal no longer knows the kit, else ctx's error.
func (l *portalLink) keepInTouch(ctx context.Context) error {
	if l.refuse(ctx) {
		return ctx.Err()
	}
	bo := newBackoff()
	for {
		err := l.heartbeat(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := l.cfg.HeartbeatInterval
		switch {
		case err == nil:
			bo.reset()
		case errors.Is(err, portalapi.ErrNotPaired):
			// Only this explicit answer forgets the room. A refused
			// assertion (invalid_client for a clock that is off, a
			// replayed jti), a portal that is down or confused: all pass,
			// and forgetting on a guess would cost the room its pairing.
			l.log.Warn("the portal no longer knows this kit: it was unpaired", "err", err)
			l.unpair()
			return errUnpaired
		default:
			l.log.Warn("heartbeat failed", "portal", l.cfg.PortalURL, "err", err)
			wait = min(bo.next(), wait)
		}
		if err := l.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// heartbeat sends one heartbeat, getting an access token first when the
// kit has none or the portal refused the one it had.
func (l *portalLink) heartbeat(ctx context.Context) error {
	err := l.heartbeatOnce(ctx)
	if errors.Is(err, portalapi.ErrInvalidToken) {
		l.mu.Lock()
		l.token = nil
		l.mu.Unlock()
		err = l.heartbeatOnce(ctx)
	}
	if l.cfg.Beat != nil && ctx.Err() == nil {
		l.cfg.Beat(l.now(), err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			l.metrics.HeartbeatsFailed++
			l.connected = false
		}
	} else {
		l.metrics.HeartbeatsOK++
		l.connected = true
		l.lastBeat = l.now()
	}
	l.cfg.Signal()
	return err
}

func (l *portalLink) heartbeatOnce(ctx context.Context) error {
	client, tok, err := l.accessToken(ctx)
	if err != nil {
		return err
	}
	l.mu.Lock()
	withUpdate, withConfig := l.policySeen, l.configSeen
	l.mu.Unlock()
	rep := l.cfg.Report(withUpdate)
	sent := l.addRemote(&rep)
	if withConfig && l.cfg.ConfigStatus != nil {
		rep.Config = l.cfg.ConfigStatus()
	}
	start := time.Now() // the round trip, on the monotonic clock
	ans, err := client.Heartbeat(ctx, tok.AccessToken, rep)
	if err != nil {
		if !errors.Is(err, portalapi.ErrUnreachable) && !errors.Is(err, portalapi.ErrInvalidToken) {
			l.remoteRefused()
		}
		if (withUpdate || withConfig) && !errors.Is(err, portalapi.ErrUnreachable) && !errors.Is(err, portalapi.ErrInvalidToken) {
			// A portal that refuses the heartbeat may have been put back
			// to a version without updates or profiles: the next one goes
			// without, and an answer with a policy (a config) brings the
			// report back.
			l.mu.Lock()
			l.policySeen, l.configSeen = false, false
			l.mu.Unlock()
		}
		return err
	}
	l.mu.Lock()
	l.policySeen, l.configSeen = ans.Update != nil, ans.ConfigKnown
	l.mu.Unlock()
	if ans.Update != nil && l.cfg.Policy != nil {
		l.cfg.Policy(*ans.Update)
	}
	l.applyRoom(ans.Room)
	l.remoteAnswered(ans, sent, time.Since(start))
	if l.cfg.Profile != nil {
		l.cfg.Profile(ans.ConfigKnown, ans.Config, ans.ConfigInvalid)
	}
	return nil
}

// forgetPolicy is what a restart forgets: whether the portal knows
// updates and profiles.
func (l *portalLink) forgetPolicy() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.policySeen, l.configSeen = false, false
}

// hasStorage says whether the state directory is used (storage.go).
func (l *portalLink) hasStorage() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.storageErr == nil
}

// accessToken returns the portal client and a current access token,
// asking for a new one when the kit has none or it is about to run out.
func (l *portalLink) accessToken(ctx context.Context) (*portalapi.Client, *portalapi.Token, error) {
	l.mu.Lock()
	client, tok := l.client, l.token
	l.mu.Unlock()
	if client == nil {
		return nil, nil, ErrNotReady
	}
	// Refresh a little early, so a token never runs out in flight.
	if tok == nil || !l.now().Before(tok.Expiry.Add(-30*time.Second)) {
		t, err := client.RefreshToken(ctx)
		if err != nil {
			return nil, nil, err
		}
		tok = t
		l.mu.Lock()
		l.token = t
		l.mu.Unlock()
		if t.Room != nil {
			l.applyRoom(*t.Room)
		}
	}
	return client, tok, nil
}

// withToken calls fn with the portal client and a current access token,
// once more with a fresh token if the portal refused the one it had.
func (l *portalLink) withToken(ctx context.Context, fn func(c *portalapi.Client, tok string) error) error {
	for try := 0; ; try++ {
		c, tok, err := l.accessToken(ctx)
		if err != nil {
			return err
		}
		err = fn(c, tok.AccessToken)
		if errors.Is(err, portalapi.ErrInvalidToken) && try == 0 {
			l.mu.Lock()
			if l.token == tok {
				l.token = nil
			}
			l.mu.Unlock()
			continue
		}
		return err
	}
}

// applyRoom takes the room's configuration from the portal: a rename in
// the admin center reaches the screen with the next heartbeat.
func (l *portalLink) applyRoom(r provisioning.Room) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.saved.Room != nil && *l.saved.Room == r {
		return
	}
	st := l.saved
	st.Room = &r
	if err := l.saveStateLocked(st); err != nil {
		// The screen still shows the new name; the next heartbeat saves it.
		l.log.Error("cannot save the room's configuration", "err", err)
	} else {
		l.saved = st
	}
	l.log.Info("room configuration", "room", r.Name, "location", r.Location, "time_zone", r.TimeZone)
	l.setRoomLocked(r)
	l.cfg.Signal()
}

// setRoomLocked applies r's time zone to the clock; a room without one
// keeps the installer's (settings.json), else UTC.
func (l *portalLink) setRoomLocked(r provisioning.Room) {
	if l.saved.Room == nil || *l.saved.Room != r {
		rc := r
		l.saved.Room = &rc
	}
	l.loc = l.cfg.BaseLocation
	if r.TimeZone != "" {
		loc, err := time.LoadLocation(r.TimeZone)
		if err != nil {
			l.log.Warn("unknown time zone: the clock keeps its zone", "time_zone", r.TimeZone, "clock", l.cfg.BaseLocation, "err", err)
		} else {
			l.loc = loc
		}
	}
}

// roomID is the paired room's ID: a meeting it organises names it.
func (l *portalLink) roomID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.saved.Room; r != nil {
		return r.ID
	}
	return ""
}

// unpair forgets the room (the admin center unpaired it). The identity
// stays: the same kit can be paired again.
func (l *portalLink) unpair() {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.saved
	st.Room = nil
	st.PairedAt = time.Time{}
	if err := l.saveStateLocked(st); err != nil {
		l.log.Error("cannot save the unpaired state", "err", err)
	}
	l.saved = st
	l.token = nil
	l.loc = l.cfg.BaseLocation
	l.message = msgUnpaired
	l.cfg.Signal()
}

// reset is the portal side of a factory reset: the identity and the
// pairing are erased and a new identity made (in memory only for a kit
// without storage). On error the kit boots again, which says why.
func (l *portalLink) reset() error {
	l.mu.Lock()
	memory := l.storageErr != nil
	l.mu.Unlock()
	var id *provisioning.Identity
	var err error
	if memory {
		id, err = memoryIdentity()
	} else if err = provisioning.FactoryReset(l.cfg.StateDir); err == nil {
		id, err = provisioning.LoadOrCreateIdentity(l.cfg.StateDir)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.token, l.code = nil, nil
	l.recovering = false // a new identity has nothing to recover
	l.saved = provisioning.State{Version: provisioning.StateVersion}
	l.loc = l.cfg.BaseLocation
	if err != nil {
		l.log.Error("factory reset failed", "err", err)
		return err
	}
	l.log.Info("new identity", "device_id", id.DeviceID)
	l.id = id
	l.client = l.newClient(id)
	l.message = msgReset
	l.errText, l.retryAt = "", time.Time{}
	return nil
}

// failureLine is the error line for a failed portal request.
func (l *portalLink) failureLine(err error) string {
	if errors.Is(err, portalapi.ErrUnreachable) {
		return "Cannot reach the portal at " + l.cfg.PortalURL
	}
	if errors.Is(err, provisioning.ErrInsecurePortal) {
		return "The portal named a plain http:// endpoint; the kit sends no credentials over it"
	}
	var oe *portalapi.OAuthError
	if errors.As(err, &oe) {
		return fmt.Sprintf("The portal refused the kit (%s)", oe.Code)
	}
	return "The portal gave an answer the kit does not understand"
}

// waitRetry shows what failed (err, in words: line) with a countdown and
// waits bo's next delay.
func (l *portalLink) waitRetry(ctx context.Context, bo *backoff, err error, line string) {
	d := bo.next()
	l.mu.Lock()
	l.errText, l.retryAt = line, l.now().Add(d)
	if errors.Is(err, portalapi.ErrUnreachable) {
		l.connected = false
	}
	l.mu.Unlock()
	l.cfg.Signal()
	l.sleep(ctx, d)
}

// online notes that the portal answered.
func (l *portalLink) online() {
	l.mu.Lock()
	l.connected = true
	l.errText, l.retryAt = "", time.Time{}
	l.mu.Unlock()
	l.cfg.Signal()
}

func (l *portalLink) setMessage(m string) {
	l.mu.Lock()
	l.message = m
	l.mu.Unlock()
	l.cfg.Signal()
}

func (l *portalLink) errorLineLocked(now time.Time) string {
	if l.portalErr != "" {
		return l.portalErr // nothing else can happen until the URL is fixed
	}
	if l.errText == "" || l.retryAt.IsZero() {
		return l.errText
	}
	left := l.retryAt.Sub(now)
	if left <= 0 {
		return l.errText + " — retrying now"
	}
	return fmt.Sprintf("%s — retrying in %d s", l.errText, int((left+time.Second-1)/time.Second))
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
