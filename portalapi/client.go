// Package portalapi is the kit's client for the portal's API: the OAuth
// device flow that pairs it (RFC 8628), the client assertions it signs for
// tokens, the heartbeat, and the meeting calls (meet now, join, list, mute,
// lock, end). It is the kit's side only; what the portal shares with it
// (identity, assertions, user codes, the kit's state) is in provisioning,
// so the portal never builds this client.
package portalapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"roomkit/drivers"
	"roomkit/health"
	"roomkit/internal/clock"
	"roomkit/internal/textfield"
	"roomkit/ota"
	"roomkit/profile"
	"roomkit/provisioning"
)

// The kit's side of docs/protocol.md §1–5.

// Paths the kit uses on the portal.
const (
	MetadataPath  = "/.well-known/oauth-authorization-server"
	HeartbeatPath = "/api/v1/device/heartbeat"
	ConfigPath    = "/api/v1/device/config"
)

// Grant types.
const (
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	GrantClientCredentials = "client_credentials"
)

// maxResponseSize caps what the kit reads of any portal answer, so a broken
// or hostile server cannot exhaust the kit's memory.
const maxResponseSize = 1 << 20

// maxLabel is the longest device_label the portal takes.
const maxLabel = 64

// OAuthError is a refusal by the portal: an RFC 6749 §5.2 error on the
// OAuth endpoints, or invalid_token on the kit API. Compare with errors.Is
// against the Err… values below; only Code is compared.
type OAuthError struct {
	Code        string
	Description string
	Status      int // HTTP status; 0 when the kit decided by itself (a code that ran out)
}

func (e *OAuthError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("portal refused: %s (%s)", e.Code, e.Description)
	}
	return "portal refused: " + e.Code
}

func (e *OAuthError) Is(target error) bool {
	if target == ErrNotPaired {
		return e.Code == ErrInvalidClient.Code && e.Description == provisioning.NotPairedDescription
	}
	t, ok := target.(*OAuthError)
	return ok && t.Code == e.Code
}

// ErrNotPaired matches the portal's explicit "this device is not paired"
// answer, and nothing else: a refused assertion (a clock that is off, a
// replayed jti) is invalid_client too, but says nothing about the pairing.
var ErrNotPaired = errors.New(provisioning.NotPairedDescription)

// Refusals the kit acts on (docs/protocol.md §4, §5).
var (
	ErrAuthorizationPending = &OAuthError{Code: "authorization_pending"}
	ErrSlowDown             = &OAuthError{Code: "slow_down"}
	ErrAccessDenied         = &OAuthError{Code: "access_denied"}
	ErrExpiredToken         = &OAuthError{Code: "expired_token"}
	ErrInvalidGrant         = &OAuthError{Code: "invalid_grant"}
	ErrInvalidClient        = &OAuthError{Code: "invalid_client"}
	ErrInvalidToken         = &OAuthError{Code: "invalid_token"}
)

// ErrUnreachable is wrapped by errors that mean the portal could not be
// asked at all (network down, connection refused, a gateway that answers
// for a portal that is down), as opposed to a portal that said no.
var ErrUnreachable = errors.New("portal unreachable")

// ErrBadAnswer is wrapped when the portal answered something the kit does
// not understand.
var ErrBadAnswer = errors.New("unexpected answer from the portal")

// Metadata is the portal's RFC 8414 authorization server metadata.
type Metadata struct {
	Issuer                      string   `json:"issuer"`
	DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint"`
	TokenEndpoint               string   `json:"token_endpoint"`
	GrantTypesSupported         []string `json:"grant_types_supported"`
}

// DeviceAuthorization is the portal's answer to a pairing request (RFC 8628
// §3.2). DeviceCode is a secret: it is never logged.
type DeviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`

	// ExpiresAt is when the code runs out, from the kit's clock.
	ExpiresAt time.Time `json:"-"`
}

// LogValue keeps the device code out of logs.
func (d *DeviceAuthorization) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user_code", d.UserCode), slog.Time("expires_at", d.ExpiresAt), slog.Int("interval", d.Interval))
}

// Token is an access token for the kit API. AccessToken is a secret.
type Token struct {
	AccessToken string             `json:"access_token"`
	TokenType   string             `json:"token_type"`
	ExpiresIn   int                `json:"expires_in"`
	Room        *provisioning.Room `json:"room"`

	// Expiry is when the token runs out, from the kit's clock.
	Expiry time.Time `json:"-"`
}

// LogValue keeps the access token out of logs.
func (t *Token) LogValue() slog.Value {
	return slog.GroupValue(slog.Time("expiry", t.Expiry))
}

// Report is what the kit tells the portal with each heartbeat.
type Report struct {
	State         string           `json:"state"`
	Version       string           `json:"version"`
	UptimeSeconds int64            `json:"uptime_seconds"`
	Devices       []drivers.Status `json:"devices"`
	// Health is the kit's health tree, summarised (health.Report.Summary):
	// the portal keeps the last one for the admin center.
	Health *health.Report `json:"health,omitempty"`
	// Update is the update agent's report. The kit sends it only once
	// an answer carried an "update" policy: an older portal refuses
	// heartbeats with fields it does not know.
	Update *ota.Report `json:"update,omitempty"`
	// Remote actions (actions.go): the kit sends these only once an
	// answer carried "actions", like Update.
	ActionsDone []ActionDone `json:"actions_done,omitempty"`
	LatencyMS   int64        `json:"latency_ms,omitempty"`
	Meeting     *MeetingNow  `json:"meeting,omitempty"`
	// Config is the kit's status for the room's configuration profile
	// (profile.go): sent only once an answer carried "config", like
	// Update.
	Config *profile.Status `json:"config,omitempty"`
}

// The portal's limits on a heartbeat's text (protocol.md §5).
const (
	maxStateBytes      = 32
	maxVersionBytes    = 64
	maxDeviceTextBytes = 200
)

// clean returns a copy of r that the portal accepts: drivers repeat what
// hardware says about itself (a USB camera's product string, an errno's
// text), and one odd string must not cost the room its heartbeat.
func (r Report) clean() Report {
	r.State = textfield.Clean(r.State, maxStateBytes)
	r.Version = textfield.Clean(r.Version, maxVersionBytes)
	devs := make([]drivers.Status, len(r.Devices))
	for i, d := range r.Devices {
		d.Kind = textfield.Clean(d.Kind, maxDeviceTextBytes)
		d.Name = textfield.Clean(d.Name, maxDeviceTextBytes)
		d.Error = textfield.Clean(d.Error, maxDeviceTextBytes)
		devs[i] = d
	}
	r.Devices = devs // never nil: the portal wants a list
	r.ActionsDone = cleanDone(r.ActionsDone)
	r.Config = cleanConfig(r.Config)
	if u := r.Update; u != nil {
		// An agent's error quotes a server or a file system: cut it to
		// what the portal accepts rather than lose the heartbeat.
		c := *u
		if !c.State.Valid() {
			c.State = ota.Idle
		}
		c.TargetVersion = textfield.Clean(c.TargetVersion, ota.MaxVersionLen)
		c.Available = textfield.Clean(c.Available, ota.MaxVersionLen)
		c.Channel = textfield.Clean(c.Channel, ota.MaxVersionLen)
		c.Error = textfield.Clean(c.Error, ota.MaxErrorLen)
		c.Detail = textfield.Clean(c.Detail, ota.MaxErrorLen)
		c.Progress = min(max(c.Progress, 0), 1)
		if l := c.Last; l != nil {
			lc := *l
			lc.Version = textfield.Clean(lc.Version, ota.MaxVersionLen)
			lc.Reason = textfield.Clean(lc.Reason, ota.MaxErrorLen)
			if lc.Outcome != ota.Healthy && lc.Outcome != ota.Failed && lc.Outcome != ota.RolledBack {
				lc.Outcome = ota.Failed
			}
			c.Last = &lc
		}
		r.Update = &c
	}
	return r
}

// Client talks to the portal for one kit. It is safe for concurrent use.
type Client struct {
	PortalURL string       // e.g. "https://portal.example"
	HTTP      *http.Client // nil: http.DefaultClient
	Identity  *provisioning.Identity
	Now       func() time.Time // nil: time.Now
	// AllowPlainHTTP lets the kit talk plain HTTP to a portal that is not
	// on loopback (settings.json's allow_plain_http; test rigs only).
	AllowPlainHTTP bool

	mu     sync.Mutex
	meta   *Metadata
	offset time.Duration // the portal's clock minus the kit's (ClockOffset)
	dated  bool          // an answer carried a usable Date: offset is measured
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// ClockOffset is how far the portal's clock is ahead of the kit's (behind,
// when negative), as the Date header of its last answer said.
func (c *Client) ClockOffset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// MeasuredClockOffset is ClockOffset and whether it was measured: false
// until an answer carried a usable Date header. Over https that Date is
// the portal's, authenticated by TLS, which is why the update agent
// judges signed metadata's expiry only once it agrees with it.
func (c *Client) MeasuredClockOffset() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset, c.dated
}

// portalNow is the time on the portal's clock: what the portal checks a
// client assertion's iat and exp against. A kit whose clock is wrong (no
// NTP yet, a flat RTC battery) still signs assertions the portal accepts.
func (c *Client) portalNow() time.Time {
	return c.now().Add(c.ClockOffset())
}

// learnClock takes the portal's time from an answer's Date header. Date
// has whole seconds and the portal wrote it somewhere in the second it
// names, so the middle of that second is the best guess; the error (half
// a second plus the answer's trip) is far inside the portal's one-minute
// tolerance. An answer without a usable Date leaves the offset as it was.
func (c *Client) learnClock(h http.Header, received time.Time) {
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return
	}
	off := date.Add(500 * time.Millisecond).Sub(received)
	c.mu.Lock()
	c.offset, c.dated = off, true
	c.mu.Unlock()
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Discover fetches the portal's metadata once and caches it.
func (c *Client) Discover(ctx context.Context) (*Metadata, error) {
	c.mu.Lock()
	m := c.meta
	c.mu.Unlock()
	if m != nil {
		return m, nil
	}
	u, err := c.url(MetadataPath)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}
	status, body, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("discover: %w: %s from %s%s", ErrBadAnswer, http.StatusText(status), u, snippet(body))
	}
	m, err = parseMetadata(body, c.AllowPlainHTTP)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", u, err)
	}
	c.mu.Lock()
	c.meta = m
	c.mu.Unlock()
	return m, nil
}

// parseMetadata checks the endpoints like the portal URL itself: an
// https:// portal must not send the kit's assertions to a plain http://
// endpoint elsewhere.
func parseMetadata(body []byte, allowPlainHTTP bool) (*Metadata, error) {
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: metadata is not JSON: %v", ErrBadAnswer, err)
	}
	for name, ep := range map[string]string{"device_authorization_endpoint": m.DeviceAuthorizationEndpoint, "token_endpoint": m.TokenEndpoint} {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("%w: metadata's %s %q is not an http(s) URL", ErrBadAnswer, name, ep)
		}
		if err := provisioning.CheckPortalURL(ep, allowPlainHTTP); err != nil {
			return nil, fmt.Errorf("metadata's %s: %w", name, err)
		}
	}
	return &m, nil
}

// StartPairing asks the portal for a user code (RFC 8628 §3.1). label is
// shown to the admin; it is cut to 64 characters.
func (c *Client) StartPairing(ctx context.Context, label string) (*DeviceAuthorization, error) {
	m, err := c.Discover(ctx)
	if err != nil {
		return nil, err
	}
	if r := []rune(label); len(r) > maxLabel {
		label = string(r[:maxLabel])
	}
	form := url.Values{
		"client_id":         {provisioning.ClientID},
		"device_public_key": {provisioning.EncodePublicKey(c.Identity.PublicKey())},
	}
	if label != "" {
		form.Set("device_label", label)
	}
	status, body, err := c.postForm(ctx, m.DeviceAuthorizationEndpoint, form)
	if err != nil {
		return nil, fmt.Errorf("start pairing: %w", err)
	}
	da, err := parseDeviceAuthorization(status, body, c.now())
	if err != nil {
		return nil, fmt.Errorf("start pairing: %w", err)
	}
	return da, nil
}

func parseDeviceAuthorization(status int, body []byte, now time.Time) (*DeviceAuthorization, error) {
	if status != http.StatusOK {
		return nil, refusal(status, body)
	}
	var da DeviceAuthorization
	if err := json.Unmarshal(body, &da); err != nil {
		return nil, fmt.Errorf("%w: device authorization is not JSON: %v", ErrBadAnswer, err)
	}
	switch {
	case da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "":
		return nil, fmt.Errorf("%w: device authorization lacks device_code, user_code or verification_uri", ErrBadAnswer)
	case da.ExpiresIn <= 0:
		return nil, fmt.Errorf("%w: device authorization expires_in %d", ErrBadAnswer, da.ExpiresIn)
	case da.Interval > 3600:
		return nil, fmt.Errorf("%w: device authorization interval %d s", ErrBadAnswer, da.Interval)
	}
	if da.Interval <= 0 {
		da.Interval = 5 // RFC 8628 §3.2's default
	}
	da.ExpiresAt = now.Add(time.Duration(da.ExpiresIn) * time.Second)
	return &da, nil
}

// PollToken asks once whether the code was entered (RFC 8628 §3.4). While
// it was not, the error matches ErrAuthorizationPending.
func (c *Client) PollToken(ctx context.Context, da *DeviceAuthorization) (*Token, error) {
	tok, err := c.token(ctx, url.Values{"grant_type": {GrantDeviceCode}, "device_code": {da.DeviceCode}})
	if err != nil {
		return nil, fmt.Errorf("poll token: %w", err)
	}
	if tok.Room == nil {
		return nil, fmt.Errorf("poll token: %w: approved without a room", ErrBadAnswer)
	}
	return tok, nil
}

// WaitForApproval polls until an admin enters the code, the code runs
// out, or the portal refuses. It waits da.Interval between polls with sleep
// and raises da.Interval by 5 s for good on every slow_down (RFC 8628
// §3.5). A code that runs out gives an error matching ErrExpiredToken. A
// network failure ends the wait too; the caller may call it again with
// the same da while the code lasts.
func (c *Client) WaitForApproval(ctx context.Context, da *DeviceAuthorization, sleep func(ctx context.Context, d time.Duration) error) (*Token, error) {
	if sleep == nil {
		sleep = clock.Sleep
	}
	for {
		if !c.now().Before(da.ExpiresAt) {
			return nil, &OAuthError{Code: ErrExpiredToken.Code, Description: "the pairing code ran out"}
		}
		if err := sleep(ctx, time.Duration(da.Interval)*time.Second); err != nil {
			return nil, err
		}
		tok, err := c.PollToken(ctx, da)
		switch {
		case err == nil:
			return tok, nil
		case errors.Is(err, ErrAuthorizationPending):
		case errors.Is(err, ErrSlowDown):
			da.Interval += 5
		default:
			return nil, err
		}
	}
}

// RefreshToken gets a fresh access token for a paired kit with the
// client_credentials grant. Only an error matching ErrNotPaired means the
// portal no longer knows this kit (it was unpaired); any other refusal,
// invalid_client included, may pass.
func (c *Client) RefreshToken(ctx context.Context) (*Token, error) {
	tok, err := c.token(ctx, url.Values{"grant_type": {GrantClientCredentials}})
	if err != nil {
		return nil, fmt.Errorf("refresh token: %w", err)
	}
	return tok, nil
}

// token makes one token endpoint request, authenticated with a fresh
// client assertion.
func (c *Client) token(ctx context.Context, form url.Values) (*Token, error) {
	m, err := c.Discover(ctx)
	if err != nil {
		return nil, err
	}
	now := c.now()
	assertion, err := provisioning.SignAssertion(c.Identity.Key, m.TokenEndpoint, c.portalNow())
	if err != nil {
		return nil, err
	}
	form.Set("client_id", provisioning.ClientID)
	form.Set("client_assertion_type", provisioning.AssertionType)
	form.Set("client_assertion", assertion)
	status, body, err := c.postForm(ctx, m.TokenEndpoint, form)
	if err != nil {
		return nil, err
	}
	return parseToken(status, body, now)
}

func parseToken(status int, body []byte, now time.Time) (*Token, error) {
	if status != http.StatusOK {
		return nil, refusal(status, body)
	}
	var t Token
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, fmt.Errorf("%w: token answer is not JSON: %v", ErrBadAnswer, err)
	}
	switch {
	case t.AccessToken == "":
		return nil, fmt.Errorf("%w: token answer without access_token", ErrBadAnswer)
	case !strings.EqualFold(t.TokenType, "Bearer"):
		return nil, fmt.Errorf("%w: token_type %q, want Bearer", ErrBadAnswer, t.TokenType)
	case t.Room != nil && t.Room.ID == "":
		return nil, fmt.Errorf("%w: token answer names a room without id", ErrBadAnswer)
	}
	if t.ExpiresIn <= 0 {
		t.ExpiresIn = 900 // the protocol's token lifetime
	}
	t.Expiry = now.Add(time.Duration(t.ExpiresIn) * time.Second)
	return &t, nil
}

// HeartbeatAnswer is the portal's answer to a heartbeat.
type HeartbeatAnswer struct {
	// Room is the room's current configuration.
	Room provisioning.Room
	// Update is what the room may install and when; nil from a portal
	// that does not serve updates (older than the update agent): the
	// kit then sends no Report.Update.
	Update *ota.Policy
	// Actions are the admins' requests for the kit (restart, reboot,
	// identify, logs), repeated in each answer until the kit reports
	// them done. ActionsKnown: the answer carried "actions" (even
	// empty), so the portal knows the heartbeat's actions_done.
	Actions      []Action
	ActionsKnown bool
	// Config is the room's configuration profile, merged, with the
	// fields the kit could not read or that fail profile.Values.Check
	// left out and named in ConfigInvalid (never applied). ConfigKnown:
	// the answer carried "config", so the portal knows the heartbeat's
	// "config"; a portal leaves it out for a room without a profile.
	// Config is nil when ConfigKnown but unreadable (no usable revision).
	Config        *profile.Config
	ConfigInvalid []profile.Rejection
	ConfigKnown   bool
}

// Heartbeat reports the kit's health and returns the room's current
// configuration and its update policy. An error matching ErrInvalidToken
// asks for RefreshToken.
func (c *Client) Heartbeat(ctx context.Context, accessToken string, r Report) (HeartbeatAnswer, error) {
	body, err := json.Marshal(r.clean())
	if err != nil {
		return HeartbeatAnswer{}, fmt.Errorf("heartbeat: %w", err)
	}
	status, resp, err := c.kitRequest(ctx, http.MethodPost, HeartbeatPath, accessToken, body)
	if err != nil {
		return HeartbeatAnswer{}, fmt.Errorf("heartbeat: %w", err)
	}
	a, err := parseHeartbeatAnswer(status, resp)
	if err != nil {
		return HeartbeatAnswer{}, fmt.Errorf("heartbeat: %w", err)
	}
	return a, nil
}

// parseHeartbeatAnswer reads the room, and the update policy when there
// is one. A policy the kit cannot read costs the policy, not the room:
// the kit then behaves as with a portal that sends none. The body is
// decoded once (the room, and the rest kept raw), as parseRoomAnswer
// reads the room: a fleet's kits each do this every heartbeat.
func parseHeartbeatAnswer(status int, body []byte) (HeartbeatAnswer, error) {
	if status != http.StatusOK {
		return HeartbeatAnswer{}, refusal(status, body)
	}
	var u struct {
		Room    *provisioning.Room `json:"room"`
		Update  json.RawMessage    `json:"update"`
		Actions json.RawMessage    `json:"actions"`
		Config  json.RawMessage    `json:"config"`
	}
	room, err := roomOf(json.Unmarshal(body, &u), u.Room)
	if err != nil {
		return HeartbeatAnswer{}, err
	}
	a := HeartbeatAnswer{Room: room}
	if len(u.Update) > 0 && string(u.Update) != "null" {
		var p ota.Policy
		if json.Unmarshal(u.Update, &p) == nil {
			a.Update = &p
		}
	}
	if len(u.Actions) > 0 && string(u.Actions) != "null" {
		a.Actions, a.ActionsKnown = parseActions(u.Actions), true
	}
	if len(u.Config) > 0 && string(u.Config) != "null" {
		a.ConfigKnown = true
		a.Config, a.ConfigInvalid = parseConfig(u.Config)
	}
	return a, nil
}

// Config returns the room's current configuration.
func (c *Client) Config(ctx context.Context, accessToken string) (provisioning.Room, error) {
	room, err := c.kitAPI(ctx, http.MethodGet, ConfigPath, accessToken, nil)
	if err != nil {
		return provisioning.Room{}, fmt.Errorf("config: %w", err)
	}
	return room, nil
}

func (c *Client) kitAPI(ctx context.Context, method, path, accessToken string, body []byte) (provisioning.Room, error) {
	status, resp, err := c.kitRequest(ctx, method, path, accessToken, body)
	if err != nil {
		return provisioning.Room{}, err
	}
	return parseRoomAnswer(status, resp)
}

// kitRequest makes one request to the kit API with the access token.
func (c *Client) kitRequest(ctx context.Context, method, path, accessToken string, body []byte) (int, []byte, error) {
	u, err := c.url(path)
	if err != nil {
		return 0, nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.do(req)
}

func parseRoomAnswer(status int, body []byte) (provisioning.Room, error) {
	if status != http.StatusOK {
		return provisioning.Room{}, refusal(status, body)
	}
	var a struct {
		Room *provisioning.Room `json:"room"`
	}
	return roomOf(json.Unmarshal(body, &a), a.Room)
}

// roomOf is the room of an answer decoded with err: the answer must be
// JSON and name a room.
func roomOf(err error, room *provisioning.Room) (provisioning.Room, error) {
	if err != nil {
		return provisioning.Room{}, fmt.Errorf("%w: room answer is not JSON: %v", ErrBadAnswer, err)
	}
	if room == nil || room.ID == "" {
		return provisioning.Room{}, fmt.Errorf("%w: answer without a room", ErrBadAnswer)
	}
	return *room, nil
}

// refusal turns an error answer into an *OAuthError when it is one, and
// into a plain error otherwise.
func refusal(status int, body []byte) error {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" && len(e.Error) <= 64 {
		if len(e.Description) > 200 {
			e.Description = e.Description[:200] + "…"
		}
		return &OAuthError{Code: e.Error, Description: e.Description, Status: status}
	}
	switch status {
	case http.StatusUnauthorized:
		// The kit API's 401 means the token is no good, whatever the body.
		return &OAuthError{Code: ErrInvalidToken.Code, Status: status}
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return fmt.Errorf("%w: %d %s%s", ErrUnreachable, status, http.StatusText(status), snippet(body))
	}
	return fmt.Errorf("%w: %d %s%s", ErrBadAnswer, status, http.StatusText(status), snippet(body))
}

// snippet quotes the start of an unexpected body for an error message.
func snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return ""
	}
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return fmt.Sprintf(": %q", s)
}

func (c *Client) url(path string) (string, error) {
	if err := provisioning.CheckPortalURL(c.PortalURL, c.AllowPlainHTTP); err != nil {
		return "", err
	}
	u, err := url.Parse(strings.TrimRight(c.PortalURL, "/") + path)
	if err != nil {
		return "", fmt.Errorf("portal URL %q: %w", c.PortalURL, err)
	}
	return u.String(), nil
}

func (c *Client) postForm(ctx context.Context, endpoint string, form url.Values) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// do sends req and reads at most maxResponseSize of the answer, and
// learns the portal's clock from it. Transport failures wrap
// ErrUnreachable. The error never contains the request body, which holds
// secrets.
func (c *Client) do(req *http.Request) (int, []byte, error) {
	return c.doHeader(req, nil)
}

// doHeader is do that also returns the answer's header in hdr (if not nil).
func (c *Client) doHeader(req *http.Request, hdr *http.Header) (int, []byte, error) {
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return 0, nil, ctxErr
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the URL, which we add ourselves
		}
		return 0, nil, fmt.Errorf("%w: %s %s: %v", ErrUnreachable, req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	c.learnClock(resp.Header, c.now())
	if hdr != nil {
		*hdr = resp.Header
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: reading the answer to %s %s: %v", ErrUnreachable, req.Method, req.URL.Redacted(), err)
	}
	if len(body) > maxResponseSize {
		return 0, nil, fmt.Errorf("%w: the answer to %s %s is larger than %d bytes", ErrBadAnswer, req.Method, req.URL.Redacted(), maxResponseSize)
	}
	return resp.StatusCode, body, nil
}

// The kit's side of docs/protocol.md §7: meetings.

// MeetingsPath is the kit's meetings endpoint; a meeting's own endpoints
// are below it.
const MeetingsPath = "/api/v1/device/meetings"

// Meeting is a meeting as the portal describes it.
type Meeting struct {
	ID         string    `json:"id"` // 9 digits
	Title      string    `json:"title"`
	JoinURL    string    `json:"join_url"`
	Locked     bool      `json:"locked"`
	Organizer  string    `json:"organizer"` // the organising room's ID
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Recurrence string    `json:"recurrence"`
}

// MeetingJoin is the portal's permission to join a meeting: where its
// LiveKit server is and a token for it. Token is a secret.
type MeetingJoin struct {
	URL     string  `json:"url"`
	Token   string  `json:"token"`
	Meeting Meeting `json:"meeting"`
}

// LogValue keeps the LiveKit token out of logs.
func (j *MeetingJoin) LogValue() slog.Value {
	return slog.GroupValue(slog.String("meeting", j.Meeting.ID), slog.String("url", j.URL))
}

// MeetingError is the portal refusing a meeting request in words meant
// for people ("No meeting has the ID 123-456-789.", "This meeting is
// locked."): the kit shows Message as it is.
type MeetingError struct {
	Status     int
	Message    string
	RetryAfter time.Duration // with 429: how long the portal asks to wait
}

func (e *MeetingError) Error() string { return e.Message }

// MeetNow starts an instant meeting organised by the room and returns
// the permission to join it.
func (c *Client) MeetNow(ctx context.Context, accessToken string) (*MeetingJoin, error) {
	j, err := c.meetingJoin(ctx, MeetingsPath, accessToken)
	if err != nil {
		return nil, fmt.Errorf("meet now: %w", err)
	}
	return j, nil
}

// JoinMeeting asks to join the meeting id ("123456789" or "123-456-789"):
// one typed on the keypad, or one of the room's own to start it.
func (c *Client) JoinMeeting(ctx context.Context, accessToken, id string) (*MeetingJoin, error) {
	j, err := c.meetingJoin(ctx, MeetingsPath+"/"+url.PathEscape(id)+"/join", accessToken)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	return j, nil
}

func (c *Client) meetingJoin(ctx context.Context, path, accessToken string) (*MeetingJoin, error) {
	status, body, hdr, err := c.meetingCall(ctx, http.MethodPost, path, accessToken, nil)
	if err != nil {
		return nil, err
	}
	return parseMeetingJoin(status, body, hdr)
}

func parseMeetingJoin(status int, body []byte, hdr http.Header) (*MeetingJoin, error) {
	if status != http.StatusOK && status != http.StatusCreated {
		return nil, meetingRefusal(status, body, hdr)
	}
	var j MeetingJoin
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("%w: join answer is not JSON: %v", ErrBadAnswer, err)
	}
	u, err := url.Parse(j.URL)
	switch {
	case err != nil || (u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("%w: join answer's url %q is not a ws(s) URL", ErrBadAnswer, j.URL)
	case j.Token == "":
		return nil, fmt.Errorf("%w: join answer without a token", ErrBadAnswer)
	case !validMeetingID(j.Meeting.ID):
		return nil, fmt.Errorf("%w: join answer's meeting ID %q is not 9 digits", ErrBadAnswer, j.Meeting.ID)
	}
	return &j, nil
}

// Meetings lists the room's meetings today (in the room's time zone),
// recurring ones expanded, in the order the portal gives.
func (c *Client) Meetings(ctx context.Context, accessToken string) ([]Meeting, error) {
	status, body, hdr, err := c.meetingCall(ctx, http.MethodGet, MeetingsPath, accessToken, nil)
	if err != nil {
		return nil, fmt.Errorf("meetings: %w", err)
	}
	ms, err := parseMeetings(status, body, hdr)
	if err != nil {
		return nil, fmt.Errorf("meetings: %w", err)
	}
	return ms, nil
}

func parseMeetings(status int, body []byte, hdr http.Header) ([]Meeting, error) {
	if status != http.StatusOK {
		return nil, meetingRefusal(status, body, hdr)
	}
	var a struct {
		Meetings []Meeting `json:"meetings"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%w: meeting list is not JSON: %v", ErrBadAnswer, err)
	}
	for _, m := range a.Meetings {
		if !validMeetingID(m.ID) {
			return nil, fmt.Errorf("%w: meeting list names the meeting ID %q, not 9 digits", ErrBadAnswer, m.ID)
		}
	}
	return a.Meetings, nil
}

// LockMeeting locks (or unlocks) a meeting the room organises: nobody
// else can join while it is locked.
func (c *Client) LockMeeting(ctx context.Context, accessToken, id string, locked bool) (Meeting, error) {
	body, _ := json.Marshal(map[string]bool{"locked": locked})
	status, resp, hdr, err := c.meetingCall(ctx, http.MethodPost, MeetingsPath+"/"+url.PathEscape(id)+"/lock", accessToken, body)
	if err != nil {
		return Meeting{}, fmt.Errorf("lock: %w", err)
	}
	if status != http.StatusOK {
		return Meeting{}, fmt.Errorf("lock: %w", meetingRefusal(status, resp, hdr))
	}
	var a struct {
		Meeting *Meeting `json:"meeting"`
	}
	if err := json.Unmarshal(resp, &a); err != nil || a.Meeting == nil {
		return Meeting{}, fmt.Errorf("lock: %w: answer without the meeting", ErrBadAnswer)
	}
	return *a.Meeting, nil
}

// Mute mutes one participant's microphone (identity, as LiveKit knows
// it) in a meeting the room organises.
func (c *Client) Mute(ctx context.Context, accessToken, id, identity string) error {
	if identity == "" {
		return errors.New("mute: no participant named")
	}
	body, _ := json.Marshal(map[string]string{"identity": identity})
	return c.mute(ctx, accessToken, id, body)
}

// MuteAll mutes everybody but the room in a meeting it organises.
func (c *Client) MuteAll(ctx context.Context, accessToken, id string) error {
	return c.mute(ctx, accessToken, id, []byte(`{"all":true}`))
}

func (c *Client) mute(ctx context.Context, accessToken, id string, body []byte) error {
	status, resp, hdr, err := c.meetingCall(ctx, http.MethodPost, MeetingsPath+"/"+url.PathEscape(id)+"/mute", accessToken, body)
	if err != nil {
		return fmt.Errorf("mute: %w", err)
	}
	if status != http.StatusNoContent && status != http.StatusOK {
		return fmt.Errorf("mute: %w", meetingRefusal(status, resp, hdr))
	}
	return nil
}

func (c *Client) meetingCall(ctx context.Context, method, path, accessToken string, body []byte) (int, []byte, http.Header, error) {
	u, err := c.url(path)
	if err != nil {
		return 0, nil, nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	var hdr http.Header
	status, resp, err := c.doHeader(req, &hdr)
	return status, resp, hdr, err
}

// meetingRefusal turns a refused meeting request into an error: 401
// matches ErrInvalidToken (get a new token and ask again), a JSON error in
// words is a *MeetingError, and the rest is what refusal makes of it.
func meetingRefusal(status int, body []byte, hdr http.Header) error {
	if status == http.StatusUnauthorized {
		return &OAuthError{Code: ErrInvalidToken.Code, Status: status}
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg := e.Error
		if r := []rune(msg); len(r) > 300 {
			msg = string(r[:300]) + "…"
		}
		me := &MeetingError{Status: status, Message: msg}
		if s, err := strconv.Atoi(hdr.Get("Retry-After")); err == nil && s > 0 {
			me.RetryAfter = time.Duration(s) * time.Second
		}
		return me
	}
	return refusal(status, body)
}

// validMeetingID reports whether id is the 9 digits of a meeting ID.
func validMeetingID(id string) bool {
	if len(id) != 9 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// EndMeeting ends a meeting the room organises for everyone: the portal
// closes it on LiveKit, which disconnects every participant. A Meet Now
// meeting cannot be joined again afterwards; a scheduled one can be
// started again.
func (c *Client) EndMeeting(ctx context.Context, accessToken, id string) error {
	status, resp, hdr, err := c.meetingCall(ctx, http.MethodPost, MeetingsPath+"/"+url.PathEscape(id)+"/end", accessToken, nil)
	if err != nil {
		return fmt.Errorf("end meeting: %w", err)
	}
	if status != http.StatusNoContent && status != http.StatusOK {
		return fmt.Errorf("end meeting: %w", meetingRefusal(status, resp, hdr))
	}
	return nil
}
