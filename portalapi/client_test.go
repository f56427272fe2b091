package portalapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkit/drivers"
	"roomkit/ota"
	"roomkit/provisioning"
)

// script is a portal that answers each request to a path with the next of
// its scripted answers, and checks what the kit sends the way the real
// portal does.
type script struct {
	t   *testing.T
	srv *httptest.Server
	id  *provisioning.Identity
	now func() time.Time // the portal's clock

	mu       sync.Mutex
	answers  map[string][]answer
	requests map[string]int
}

type answer struct {
	status int
	body   string
}

func newScript(t *testing.T) (*script, *Client) {
	t.Helper()
	id, err := provisioning.LoadOrCreateIdentity(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &script{t: t, id: id, now: time.Now, answers: map[string][]answer{}, requests: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s, &Client{PortalURL: s.srv.URL, Identity: id}
}

func (s *script) on(path string, a ...answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[path] = append(s.answers[path], a...)
}

func (s *script) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

func (s *script) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	var a answer
	if r.URL.Path == MetadataPath {
		a = answer{200, fmt.Sprintf(`{"issuer":%[1]q,"device_authorization_endpoint":"%[1]s/oauth/device_authorization","token_endpoint":"%[1]s/oauth/token"}`, s.srv.URL)}
	} else if q := s.answers[r.URL.Path]; len(q) > 0 {
		a = q[0]
		if len(q) > 1 { // the last answer repeats
			s.answers[r.URL.Path] = q[1:]
		}
	} else {
		a = answer{404, `{"error":"not_found"}`}
	}
	s.mu.Unlock()

	switch r.URL.Path {
	case "/oauth/device_authorization":
		r.ParseForm()
		if r.Form.Get("client_id") != provisioning.ClientID || r.Form.Get("device_public_key") != provisioning.EncodePublicKey(s.id.PublicKey()) {
			s.t.Errorf("device authorization form %v lacks client_id or the kit's key", r.Form)
		}
	case "/oauth/token":
		r.ParseForm()
		if _, err := provisioning.VerifyAssertion(r.Form.Get("client_assertion"), s.id.PublicKey(), s.srv.URL+"/oauth/token", s.now()); err != nil {
			s.t.Errorf("client assertion: %v", err)
		}
		if r.Form.Get("client_assertion_type") != provisioning.AssertionType {
			s.t.Errorf("client_assertion_type %q", r.Form.Get("client_assertion_type"))
		}
	case HeartbeatPath, ConfigPath:
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			s.t.Errorf("%s without a bearer token", r.URL.Path)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	// Like the portal, the script says its own clock's time.
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	w.WriteHeader(a.status)
	w.Write([]byte(a.body))
}

const (
	daJSON    = `{"device_code":"dc-secret","user_code":"BCDF-GHJK","verification_uri":"http://x/admin/pair","verification_uri_complete":"http://x/admin/pair?code=BCDFGHJK","expires_in":600,"interval":5}`
	tokenJSON = `{"access_token":"at-secret","token_type":"Bearer","expires_in":900,"room":{"id":"rm_1","name":"Boardroom","location":"3rd floor","time_zone":"Europe/Zurich"}}`
)

func oauthErr(status int, code string) answer {
	return answer{status, fmt.Sprintf(`{"error":%q,"error_description":"because"}`, code)}
}

func TestPollTokenErrors(t *testing.T) {
	for _, tc := range []struct {
		answer answer
		want   error
	}{
		{oauthErr(400, "authorization_pending"), ErrAuthorizationPending},
		{oauthErr(400, "slow_down"), ErrSlowDown},
		{oauthErr(400, "access_denied"), ErrAccessDenied},
		{oauthErr(400, "expired_token"), ErrExpiredToken},
		{oauthErr(400, "invalid_grant"), ErrInvalidGrant},
		{oauthErr(401, "invalid_client"), ErrInvalidClient},
		{oauthErr(400, "invalid_request"), &OAuthError{Code: "invalid_request"}},
		{oauthErr(400, "unsupported_grant_type"), &OAuthError{Code: "unsupported_grant_type"}},
		{answer{500, "internal error"}, ErrBadAnswer},
		{answer{503, "<html>bad gateway</html>"}, ErrUnreachable},
		{answer{200, `{"access_token":"","token_type":"Bearer"}`}, ErrBadAnswer},
		{answer{200, `{"access_token":"x","token_type":"MAC","room":{"id":"rm_1"}}`}, ErrBadAnswer},
		{answer{200, `{"access_token":"x","token_type":"Bearer"}`}, ErrBadAnswer}, // approved, but no room
		{answer{200, `not json`}, ErrBadAnswer},
		{answer{200, tokenJSON}, nil},
	} {
		t.Run(fmt.Sprintf("%d %.40s", tc.answer.status, tc.answer.body), func(t *testing.T) {
			s, c := newScript(t)
			s.on("/oauth/device_authorization", answer{200, daJSON})
			s.on("/oauth/token", tc.answer)
			da, err := c.StartPairing(context.Background(), "kit-1")
			if err != nil {
				t.Fatal(err)
			}
			tok, err := c.PollToken(context.Background(), da)
			if tc.want == nil {
				if err != nil || tok.AccessToken != "at-secret" || tok.Room.Name != "Boardroom" {
					t.Fatalf("PollToken = %+v, %v; want the token and room", tok, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("PollToken error %v, want %v", err, tc.want)
			}
			var oe *OAuthError
			if errors.As(err, &oe) && errors.Is(err, ErrUnreachable) {
				t.Errorf("error %v: a refusal must not look like an unreachable portal, nor the reverse", err)
			}
			if strings.Contains(err.Error(), "dc-secret") {
				t.Errorf("error %q shows the device code", err)
			}
		})
	}
}

// fakeTime is a clock that only sleep moves.
type fakeTime struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (f *fakeTime) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }

func (f *fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slept = append(f.slept, d)
	f.now = f.now.Add(d)
	return ctx.Err()
}

func TestWaitForApproval(t *testing.T) {
	s5 := 5 * time.Second
	for _, tc := range []struct {
		name      string
		polls     []answer
		want      error // nil: approved
		wantSleep []time.Duration
	}{
		{
			name:      "approved after two pending",
			polls:     []answer{oauthErr(400, "authorization_pending"), oauthErr(400, "authorization_pending"), {200, tokenJSON}},
			wantSleep: []time.Duration{s5, s5, s5},
		},
		{
			name: "slow_down adds 5 s for good",
			polls: []answer{oauthErr(400, "authorization_pending"), oauthErr(400, "slow_down"), oauthErr(400, "authorization_pending"),
				oauthErr(400, "slow_down"), {200, tokenJSON}},
			wantSleep: []time.Duration{s5, s5, 10 * time.Second, 10 * time.Second, 15 * time.Second},
		},
		{
			name:      "denied",
			polls:     []answer{oauthErr(400, "authorization_pending"), oauthErr(400, "access_denied")},
			want:      ErrAccessDenied,
			wantSleep: []time.Duration{s5, s5},
		},
		{
			name:      "portal says expired",
			polls:     []answer{oauthErr(400, "expired_token")},
			want:      ErrExpiredToken,
			wantSleep: []time.Duration{s5},
		},
		{
			name:      "used code",
			polls:     []answer{oauthErr(400, "invalid_grant")},
			want:      ErrInvalidGrant,
			wantSleep: []time.Duration{s5},
		},
		{
			// expires_in 600 s at 5 s intervals: 120 polls, then the kit
			// stops by itself.
			name:  "code runs out while nobody enters it",
			polls: []answer{oauthErr(400, "authorization_pending")},
			want:  ErrExpiredToken,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newScript(t)
			clock := &fakeTime{now: time.Now()}
			c.Now, s.now = clock.Now, clock.Now
			s.on("/oauth/device_authorization", answer{200, daJSON})
			s.on("/oauth/token", tc.polls...)
			da, err := c.StartPairing(context.Background(), "kit-1")
			if err != nil {
				t.Fatal(err)
			}
			tok, err := c.WaitForApproval(context.Background(), da, clock.Sleep)
			if tc.want == nil {
				if err != nil || tok.Room.ID != "rm_1" {
					t.Fatalf("WaitForApproval = %+v, %v; want approval", tok, err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("WaitForApproval error %v, want %v", err, tc.want)
			}
			if tc.wantSleep != nil && fmt.Sprint(clock.slept) != fmt.Sprint(tc.wantSleep) {
				t.Errorf("waited %v between polls, want %v", clock.slept, tc.wantSleep)
			}
			if tc.wantSleep == nil && s.count("/oauth/token") != 120 {
				t.Errorf("polled %d times in 600 s at 5 s intervals, want 120", s.count("/oauth/token"))
			}
		})
	}
}

func TestUnreachablePortal(t *testing.T) {
	s, c := newScript(t)
	s.srv.Close()
	_, err := c.StartPairing(context.Background(), "kit-1")
	var oe *OAuthError
	if !errors.Is(err, ErrUnreachable) || errors.As(err, &oe) {
		t.Fatalf("StartPairing with the portal down: %v; want ErrUnreachable and no refusal", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error %q does not say which portal", err)
	}
}

func TestKitAPI(t *testing.T) {
	room := `{"room":{"id":"rm_1","name":"Aquarium","location":"2nd floor","time_zone":"UTC"}}`
	for _, tc := range []struct {
		name   string
		answer answer
		want   error
	}{
		{"renamed", answer{200, room}, nil},
		{"expired token", oauthErr(401, "invalid_token"), ErrInvalidToken},
		{"401 without a body", answer{401, ""}, ErrInvalidToken},
		{"no room", answer{200, `{}`}, ErrBadAnswer},
		{"too large", answer{200, `{"room":{"id":"rm_1","name":"` + strings.Repeat("x", maxResponseSize) + `"}}`}, ErrBadAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newScript(t)
			s.on(HeartbeatPath, tc.answer)
			s.on(ConfigPath, tc.answer)
			hb, err := c.Heartbeat(context.Background(), "at-secret", Report{State: "ready", Version: "0.1.0"})
			cf, err2 := c.Config(context.Background(), "at-secret")
			for _, e := range []error{err, err2} {
				if tc.want == nil && e != nil || !errors.Is(e, tc.want) {
					t.Errorf("error %v, want %v", e, tc.want)
				}
			}
			if tc.want == nil && (hb.Room.Name != "Aquarium" || cf.Name != "Aquarium") {
				t.Errorf("heartbeat room %+v, config room %+v; want the new name", hb, cf)
			}
		})
	}
}

// An expired access token gets a 401; the kit refreshes it with a client
// assertion, and a portal that answers "not paired" has unpaired it.
func TestRefreshToken(t *testing.T) {
	s, c := newScript(t)
	s.on(HeartbeatPath, oauthErr(401, "invalid_token"))
	s.on("/oauth/token", answer{200, tokenJSON}, notPaired)
	ctx := context.Background()
	if _, err := c.Heartbeat(ctx, "old", Report{}); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("heartbeat with an old token: %v", err)
	}
	tok, err := c.RefreshToken(ctx)
	if err != nil || tok.AccessToken != "at-secret" || tok.Expiry.IsZero() {
		t.Fatalf("RefreshToken = %+v, %v", tok, err)
	}
	if _, err := c.RefreshToken(ctx); !errors.Is(err, ErrNotPaired) || !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("RefreshToken after unpairing: %v, want ErrNotPaired (an invalid_client)", err)
	}
	if n := s.count(MetadataPath); n != 1 {
		t.Errorf("fetched the metadata %d times, want once (cached)", n)
	}
}

func TestHeartbeatBody(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&got)
		w.Write([]byte(`{"room":{"id":"rm_1","name":"B","location":"","time_zone":""}}`))
	}))
	defer srv.Close()
	c := &Client{PortalURL: srv.URL}
	if _, err := c.Heartbeat(context.Background(), "t", Report{State: "ready", Version: "0.1.0", UptimeSeconds: 12}); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"state": "ready", "version": "0.1.0", "uptime_seconds": 12.0, "devices": []any{}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("heartbeat body %v, want %v", got, want)
	}
}

// TestHeartbeatCleansText: a driver's odd text (an escape sequence in a
// USB product string, a multi-line error) reaches the portal as one line,
// so the heartbeat is accepted and the room stays online.
func TestHeartbeatCleansText(t *testing.T) {
	var got Report
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&got)
		w.Write([]byte(`{"room":{"id":"rm_1","name":"B","location":"","time_zone":""}}`))
	}))
	defer srv.Close()
	c := &Client{PortalURL: srv.URL}
	in := []drivers.Status{
		{Kind: "camera", Name: "HD Webcam\x1b[31m", Present: true, Error: "open /dev/video0:\nno such device"},
		{Kind: "speakerphone", Name: "Jabra \u202eoidua", Error: strings.Repeat("é", 150)},
	}
	if _, err := c.Heartbeat(context.Background(), "t", Report{State: "ready", Version: "0.1.0\r", Devices: in}); err != nil {
		t.Fatal(err)
	}
	want := []drivers.Status{
		{Kind: "camera", Name: "HD Webcam\ufffd[31m", Present: true, Error: "open /dev/video0:\ufffdno such device"},
		{Kind: "speakerphone", Name: "Jabra \ufffdoidua", Error: strings.Repeat("é", 98) + "…"},
	}
	if got.Version != "0.1.0\ufffd" || fmt.Sprint(got.Devices) != fmt.Sprint(want) {
		t.Errorf("sent version %q, devices %+v\nwant %+v", got.Version, got.Devices, want)
	}
	if in[0].Name != "HD Webcam\x1b[31m" {
		t.Errorf("Heartbeat changed the caller's report: %q", in[0].Name)
	}
}

// TestHeartbeatUpdate: the answer's "update" policy reaches the kit, an
// answer without one (an older portal) gives none, and one the kit cannot
// read costs the policy, not the room. The report's update is cut to what
// the portal accepts (ota.Report.Validate).
func TestHeartbeatUpdate(t *testing.T) {
	room := `"room":{"id":"rm_1","name":"B","location":"","time_zone":""}`
	for _, tc := range []struct {
		name, answer string
		want         *ota.Policy
	}{
		{"older portal", `{` + room + `}`, nil},
		{"null", `{` + room + `,"update":null}`, nil},
		{"policy", `{` + room + `,"update":{"channel":"beta","window":{"start":"01:00","end":"04:00"},"allowed":"1.5.0","install_now":"r-8f2c","newer_field":1}}`,
			&ota.Policy{Channel: "beta", Window: ota.Window{Start: "01:00", End: "04:00"}, Allowed: "1.5.0", InstallNow: "r-8f2c"}},
		{"unreadable policy", `{` + room + `,"update":"soon"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseHeartbeatAnswer(200, []byte(tc.answer))
			if err != nil {
				t.Fatal(err)
			}
			if a.Room.ID != "rm_1" || fmt.Sprint(a.Update) != fmt.Sprint(tc.want) {
				t.Errorf("answer %+v, update %+v; want update %+v", a.Room, a.Update, tc.want)
			}
		})
	}

	var got map[string]json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&got)
		w.Write([]byte(`{` + room + `}`))
	}))
	defer srv.Close()
	c := &Client{PortalURL: srv.URL}
	if _, err := c.Heartbeat(context.Background(), "t", Report{State: "ready"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["update"]; ok {
		t.Errorf("a report without Update sent %s", got["update"])
	}
	rep := &ota.Report{Status: ota.Status{State: "", Error: "download:\nconnection reset " + strings.Repeat("x", 300), Progress: 1.5,
		Last: &ota.Result{Version: "1.4.0", Outcome: "odd", Reason: "Camera:\nnot found"}}}
	if _, err := c.Heartbeat(context.Background(), "t", Report{State: "ready", Update: rep}); err != nil {
		t.Fatal(err)
	}
	var sent ota.Report
	if err := json.Unmarshal(got["update"], &sent); err != nil {
		t.Fatalf("update sent: %s: %v", got["update"], err)
	}
	if err := sent.Validate(); err != nil {
		t.Errorf("the portal would refuse the update sent (%s): %v", got["update"], err)
	}
	if sent.State != ota.Idle || sent.Progress != 1 || sent.Last.Outcome != ota.Failed {
		t.Errorf("update sent %+v", sent)
	}
}

func FuzzParseHeartbeatAnswer(f *testing.F) {
	f.Add(200, []byte(`{"room":{"id":"rm_1","name":"B"},"update":{"channel":"stable","window":{"start":"01:00","end":"04:00"}}}`))
	f.Add(200, []byte(`{"room":{"id":"rm_1"},"update":[]}`))
	f.Add(200, []byte(`{"room":{"id":"rm_1"},"actions":[{"id":"a-1","kind":"restart","force":true},{"id":7},"x"]}`))
	f.Add(400, []byte(`{"error":"invalid_request"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		a, err := parseHeartbeatAnswer(status, body)
		if err == nil && a.Room.ID == "" {
			t.Errorf("accepted an answer without a room: %q", body)
		}
		// One decoding of the body reads the room as parseRoomAnswer does.
		room, roomErr := parseRoomAnswer(status, body)
		if (err == nil) != (roomErr == nil) || (err == nil && room != a.Room) {
			t.Errorf("answer %q: room %+v, %v; parseRoomAnswer: %+v, %v", body, a.Room, err, room, roomErr)
		}
	})
}

// TestHeartbeatAnswerRefused: what is not an answer with a room is an
// error, as parseRoomAnswer words it.
func TestHeartbeatAnswerRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"not JSON", 200, `{"room":`, ErrBadAnswer},
		{"no room", 200, `{"update":{"channel":"stable"}}`, ErrBadAnswer},
		{"room without an id", 200, `{"room":{"name":"B"}}`, ErrBadAnswer},
		{"room not an object", 200, `{"room":"rm_1","actions":[]}`, ErrBadAnswer},
		{"a field of another type", 200, `{"room":{"id":"rm_1","name":7}}`, ErrBadAnswer},
		{"token refused", 401, `{"error":"invalid_token"}`, ErrInvalidToken},
		{"portal down", 503, `database unavailable`, ErrUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseHeartbeatAnswer(tc.status, []byte(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("parseHeartbeatAnswer = %v, want %v", err, tc.want)
			}
			if _, roomErr := parseRoomAnswer(tc.status, []byte(tc.body)); roomErr == nil || roomErr.Error() != err.Error() {
				t.Errorf("error %q, parseRoomAnswer's %v", err, roomErr)
			}
		})
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(200, []byte(tokenJSON))
	f.Add(400, []byte(`{"error":"slow_down"}`))
	f.Add(401, []byte(``))
	f.Add(200, []byte(`{"access_token":"x","token_type":"bearer","expires_in":-1}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		tok, err := parseToken(status, body, time.Now())
		if err == nil && (tok.AccessToken == "" || tok.Expiry.IsZero()) {
			t.Fatalf("accepted a token without access_token or expiry: %+v", tok)
		}
		da, err := parseDeviceAuthorization(status, body, time.Now())
		if err == nil && (da.DeviceCode == "" || da.UserCode == "" || da.Interval <= 0) {
			t.Fatalf("accepted an unusable device authorization: %+v", da)
		}
	})
}

func FuzzParseRoomAnswer(f *testing.F) {
	f.Add(200, []byte(`{"room":{"id":"rm_1","name":"Boardroom","location":"","time_zone":"Europe/Zurich"}}`))
	f.Add(401, []byte(`{"error":"invalid_token"}`))
	f.Add(200, []byte(`{"room":null}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r, err := parseRoomAnswer(status, body)
		if err == nil && r.ID == "" {
			t.Fatal("accepted a room without id")
		}
		if status == 401 && !errors.Is(err, ErrInvalidToken) {
			var oe *OAuthError
			if !errors.As(err, &oe) {
				t.Fatalf("a 401 gave %v, want a refusal", err)
			}
		}
	})
}
