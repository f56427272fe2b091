package appliance

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roomkit/ota"
	"roomkit/portalapi"
	"roomkit/provisioning"
)

// fakePortal is a small, faithful stand-in for the portal's device side
// (docs/protocol.md §1–5) that a test steers: approve, deny or expire a
// code, rename or unpair the room, revoke tokens, go down.
type fakePortal struct {
	t    *testing.T
	srv  *httptest.Server
	down atomic.Bool // the network to the portal is cut
	// refuse makes the token endpoint refuse every client assertion
	// with a plain invalid_client, as for a kit whose clock is off.
	refuse atomic.Bool
	// busy answers that many token requests with a 503
	// temporarily_unavailable, as a portal whose disk is full.
	busy atomic.Int32

	mu     sync.Mutex
	codes  map[string]*fakeCode // by device code
	issued []string             // user codes, in order
	bound  map[string]ed25519.PublicKey
	rooms  map[string]*provisioning.Room // by device ID
	tokens map[string]string             // access token -> device ID
	grants map[string]int                // grant type -> count
	beats  []portalapi.Report
	// policy, if set, is every heartbeat answer's "update", as a portal
	// that serves updates answers; old refuses heartbeats that carry an
	// "update", as a portal from before updates does (400).
	policy *ota.Policy
	old    bool
	// config, if set, is every heartbeat answer's "config" (a room with
	// a configuration profile).
	config    json.RawMessage
	refused   int // heartbeats old refused
	nextToken int
	meetings  fakeMeetings
}

type fakeCode struct {
	user  string
	key   ed25519.PublicKey
	state string // "pending", "approved", "denied", "expired", "used"
	room  *provisioning.Room
}

func newFakePortal(t *testing.T) *fakePortal {
	p := &fakePortal{t: t, codes: map[string]*fakeCode{}, bound: map[string]ed25519.PublicKey{},
		rooms: map[string]*provisioning.Room{}, tokens: map[string]string{}, grants: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+portalapi.MetadataPath, p.metadata)
	mux.HandleFunc("POST /oauth/device_authorization", p.deviceAuthorization)
	mux.HandleFunc("POST /oauth/token", p.token)
	mux.HandleFunc("POST "+portalapi.HeartbeatPath, p.heartbeat)
	p.meetingRoutes(mux)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// client goes through the portal's network, which down cuts.
func (p *fakePortal) client() *http.Client {
	return &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		if p.down.Load() {
			return nil, errors.New("connect: connection refused")
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (p *fakePortal) metadata(w http.ResponseWriter, r *http.Request) {
	u := p.srv.URL
	writeJSON(w, 200, map[string]any{"issuer": u, "device_authorization_endpoint": u + "/oauth/device_authorization", "token_endpoint": u + "/oauth/token"})
}

func (p *fakePortal) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	key, err := provisioning.DecodePublicKey(r.FormValue("device_public_key"))
	if err != nil || r.FormValue("client_id") != provisioning.ClientID {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.issued)
	user := fmt.Sprintf("BCDF-GH%c%c", provisioning.UserCodeAlphabet[n/20%20], provisioning.UserCodeAlphabet[n%20])
	dc := fmt.Sprintf("device-code-%d", n)
	p.codes[dc] = &fakeCode{user: user, key: key, state: "pending"}
	p.issued = append(p.issued, user)
	writeJSON(w, 200, map[string]any{"device_code": dc, "user_code": user, "verification_uri": p.srv.URL + "/admin/pair",
		"verification_uri_complete": p.srv.URL + "/admin/pair?code=" + strings.ReplaceAll(user, "-", ""), "expires_in": 600, "interval": 5})
}

func (p *fakePortal) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fail := func(status int, code string) { writeJSON(w, status, map[string]string{"error": code}) }
	if p.busy.Load() > 0 {
		p.busy.Add(-1)
		fail(http.StatusServiceUnavailable, "temporarily_unavailable")
		return
	}
	claims, err := provisioning.ParseAssertion(r.FormValue("client_assertion"))
	if err != nil {
		fail(401, "invalid_client")
		return
	}
	aud := p.srv.URL + "/oauth/token"
	grant := r.FormValue("grant_type")
	p.grants[grant]++
	if p.refuse.Load() {
		writeJSON(w, 401, map[string]string{"error": "invalid_client", "error_description": "invalid client assertion: expired"})
		return
	}
	switch grant {
	case portalapi.GrantDeviceCode:
		c := p.codes[r.FormValue("device_code")]
		if c == nil {
			fail(400, "invalid_grant")
			return
		}
		if _, err := provisioning.VerifyAssertion(r.FormValue("client_assertion"), c.key, aud, time.Now()); err != nil {
			fail(401, "invalid_client")
			return
		}
		switch c.state {
		case "pending":
			fail(400, "authorization_pending")
		case "denied":
			fail(400, "access_denied")
		case "expired":
			fail(400, "expired_token")
		case "used":
			fail(400, "invalid_grant")
		case "approved":
			c.state = "used"
			id := provisioning.DeviceID(c.key)
			p.bound[id], p.rooms[id] = c.key, c.room
			writeJSON(w, 200, p.newTokenLocked(id))
		}
	case portalapi.GrantClientCredentials:
		key := p.bound[claims.Sub]
		if key == nil {
			writeJSON(w, 401, map[string]string{"error": "invalid_client", "error_description": provisioning.NotPairedDescription})
			return
		}
		if _, err := provisioning.VerifyAssertion(r.FormValue("client_assertion"), key, aud, time.Now()); err != nil {
			fail(401, "invalid_client")
			return
		}
		writeJSON(w, 200, p.newTokenLocked(claims.Sub))
	default:
		fail(400, "unsupported_grant_type")
	}
}

func (p *fakePortal) newTokenLocked(id string) map[string]any {
	p.nextToken++
	tok := fmt.Sprintf("access-%d", p.nextToken)
	p.tokens[tok] = id
	return map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 900, "room": p.rooms[id]}
}

func (p *fakePortal) heartbeat(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		writeJSON(w, 401, map[string]string{"error": "invalid_token"})
		return
	}
	var rep portalapi.Report
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		p.t.Errorf("heartbeat body: %v", err)
		writeJSON(w, 400, map[string]string{"error": err.Error()})
		return
	}
	if p.old && rep.Update != nil {
		p.refused++
		writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": `json: unknown field "update"`})
		return
	}
	p.beats = append(p.beats, rep)
	ans := map[string]any{"room": p.rooms[id]}
	if p.policy != nil {
		ans["update"] = p.policy
	}
	if p.config != nil {
		ans["config"] = p.config
	}
	writeJSON(w, 200, ans)
}

// Steering.

func (p *fakePortal) lastCode() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.issued) == 0 {
		return ""
	}
	return p.issued[len(p.issued)-1]
}

func (p *fakePortal) setCode(user, state string, room *provisioning.Room) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.codes {
		if c.user == user {
			c.state, c.room = state, room
			return
		}
	}
	p.t.Fatalf("no code %s", user)
}

func (p *fakePortal) codeState(user string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.codes {
		if c.user == user {
			return c.state
		}
	}
	return ""
}

func (p *fakePortal) rename(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.rooms {
		r.Name = name
	}
}

func (p *fakePortal) revokeTokens() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.tokens)
}

func (p *fakePortal) unpairAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.tokens)
	clear(p.bound)
	clear(p.rooms)
}

func (p *fakePortal) grantCount(grant string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.grants[grant]
}

func (p *fakePortal) beatCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.beats)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
