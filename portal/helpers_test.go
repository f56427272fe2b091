package portal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkit/provisioning"
)

// clock is a settable time source for the portal under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a portal on a loopback test server with an admin API token.
type env struct {
	t      *testing.T
	dir    string // the portal's data directory
	srv    *Server
	ts     *httptest.Server
	clock  *clock
	token  string // admin API token
	client *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvIn(t, t.TempDir(), &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)})
}

func newEnvIn(t *testing.T, dir string, c *clock) *env {
	t.Helper()
	return startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DataDir: dir}, nil)
}

// startEnv opens a portal configured by cfg on ts, a test server not
// started yet (the portal must know its own address before it exists,
// and LiveKit may already post webhooks to it), with the clock c and an
// admin API token; the test's end closes both. prep, when not nil,
// changes the server before it can answer a request, so the test needs
// no lock for it.
func startEnv(t *testing.T, ts *httptest.Server, c *clock, cfg Config, prep func(*Server)) *env {
	t.Helper()
	cfg.URL = "http://" + ts.Listener.Addr().String()
	cfg.Now = c.Now
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if prep != nil {
		prep(srv)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	e := &env{t: t, dir: cfg.DataDir, srv: srv, ts: ts, clock: c, client: ts.Client()}
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	if e.token, err = srv.CreateAPIToken("tests"); err != nil {
		t.Fatal(err)
	}
	return e
}

// do sends a request and returns the status, headers and body.
func (e *env) do(method, path, contentType string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (e *env) form(path string, v url.Values) (int, []byte) {
	e.t.Helper()
	code, _, b := e.do("POST", path, "application/x-www-form-urlencoded", []byte(v.Encode()), nil)
	return code, b
}

func (e *env) admin(method, path string, body any) (int, http.Header, []byte) {
	e.t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	default:
		b, _ = json.Marshal(v)
	}
	return e.do(method, path, "application/json", b, map[string]string{"Authorization": "Bearer " + e.token})
}

// kit is a fake room kit with its own identity.
type kit struct {
	e   *env
	key ed25519.PrivateKey
}

func (e *env) newKit() *kit {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	return &kit{e: e, key: key}
}

func (k *kit) authorize() deviceAuthResponse {
	k.e.t.Helper()
	code, b := k.e.form("/oauth/device_authorization", url.Values{
		"client_id":         {provisioning.ClientID},
		"device_public_key": {provisioning.EncodePublicKey(k.key.Public().(ed25519.PublicKey))},
		"device_label":      {"kit-under-test"},
	})
	if code != 200 {
		k.e.t.Fatalf("device_authorization: %d %s", code, b)
	}
	var r deviceAuthResponse
	if err := json.Unmarshal(b, &r); err != nil {
		k.e.t.Fatal(err)
	}
	return r
}

func (k *kit) assertion() string {
	a, err := provisioning.SignAssertion(k.key, k.e.srv.tokenEndpoint(), k.e.clock.Now())
	if err != nil {
		k.e.t.Fatal(err)
	}
	return a
}

func (k *kit) pollWith(deviceCode, assertion string) (int, map[string]any) {
	k.e.t.Helper()
	return k.tokenRequest(url.Values{
		"grant_type":  {grantDeviceCode},
		"device_code": {deviceCode},
	}, assertion)
}

func (k *kit) poll(deviceCode string) (int, map[string]any) {
	k.e.t.Helper()
	return k.pollWith(deviceCode, k.assertion())
}

func (k *kit) refresh() (int, map[string]any) {
	k.e.t.Helper()
	return k.refreshWith(k.assertion())
}

func (k *kit) refreshWith(assertion string) (int, map[string]any) {
	k.e.t.Helper()
	return k.tokenRequest(url.Values{"grant_type": {grantClientCredentials}}, assertion)
}

// tokenRequest asks the token endpoint for grant v as this kit, proving
// who it is with assertion, and returns the status and the JSON answer.
func (k *kit) tokenRequest(v url.Values, assertion string) (int, map[string]any) {
	k.e.t.Helper()
	v.Set("client_id", provisioning.ClientID)
	v.Set("client_assertion_type", provisioning.AssertionType)
	v.Set("client_assertion", assertion)
	code, b := k.e.form("/oauth/token", v)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		k.e.t.Fatalf("token answer is not JSON: %s", b)
	}
	return code, m
}

// pairKit runs the whole protocol and returns the room ID and access token.
func (e *env) pairKit(k *kit, name string) (roomID, accessToken string) {
	e.t.Helper()
	da := k.authorize()
	code, _, b := e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: name, Location: "3rd floor", TimeZone: "Europe/Zurich"})
	if code != 201 {
		e.t.Fatalf("pair: %d %s", code, b)
	}
	st, m := k.poll(da.DeviceCode)
	if st != 200 {
		e.t.Fatalf("token after pairing: %d %v", st, m)
	}
	room := m["room"].(map[string]any)
	return room["id"].(string), m["access_token"].(string)
}

func (e *env) heartbeat(accessToken, body string) (int, []byte) {
	e.t.Helper()
	code, _, b := e.do("POST", "/api/v1/device/heartbeat", "application/json", []byte(body),
		map[string]string{"Authorization": "Bearer " + accessToken})
	return code, b
}

const goodHeartbeat = `{"state":"ready","version":"0.1.0","uptime_seconds":12,"devices":[{"kind":"camera","name":"Synthetic camera","present":true,"error":""}]}`

func errCode(t *testing.T, body []byte) string {
	t.Helper()
	var m struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error answer is not JSON: %q", body)
	}
	return m.Error
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
