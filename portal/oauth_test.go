package portal

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"roomkit/provisioning"
)

func TestMetadata(t *testing.T) {
	e := newEnv(t)
	code, _, b := e.do("GET", "/.well-known/oauth-authorization-server", "", nil, nil)
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for k, want := range map[string]string{
		"issuer":                        e.ts.URL,
		"device_authorization_endpoint": e.ts.URL + "/oauth/device_authorization",
		"token_endpoint":                e.ts.URL + "/oauth/token",
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %s", k, m[k], want)
		}
	}
}

func TestDeviceAuthorization(t *testing.T) {
	e := newEnv(t)
	k := e.newKit()
	da := k.authorize()
	if len(da.DeviceCode) != 43 {
		t.Errorf("device_code has %d characters, want 43", len(da.DeviceCode))
	}
	raw, err := provisioning.NormalizeUserCode(da.UserCode)
	if err != nil || provisioning.FormatUserCode(raw) != da.UserCode {
		t.Errorf("user_code %q is not shown as XXXX-XXXX: %v", da.UserCode, err)
	}
	if da.VerificationURI != e.ts.URL+"/admin/pair" || da.VerificationURIComplete != e.ts.URL+"/admin/pair?code="+raw {
		t.Errorf("verification URIs: %q %q", da.VerificationURI, da.VerificationURIComplete)
	}
	if da.ExpiresIn != 600 || da.Interval != 1 {
		t.Errorf("expires_in %d interval %d, want 600 and 1", da.ExpiresIn, da.Interval)
	}

	pub := provisioning.EncodePublicKey(k.key.Public().(ed25519.PublicKey))
	for _, tc := range []struct {
		name string
		form url.Values
		code int
		err  string
	}{
		{"wrong client", url.Values{"client_id": {"other"}, "device_public_key": {pub}}, 401, "invalid_client"},
		{"no key", url.Values{"client_id": {"roomkit"}}, 400, "invalid_request"},
		{"short key", url.Values{"client_id": {"roomkit"}, "device_public_key": {"AAAA"}}, 400, "invalid_request"},
		{"long label", url.Values{"client_id": {"roomkit"}, "device_public_key": {pub}, "device_label": {string(make([]byte, 65))}}, 400, "invalid_request"},
		{"repeated field", url.Values{"client_id": {"roomkit", "roomkit"}, "device_public_key": {pub}}, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.form("/oauth/device_authorization", tc.form)
			if code != tc.code || errCode(t, b) != tc.err {
				t.Errorf("got %d %s, want %d %s", code, b, tc.code, tc.err)
			}
		})
	}
}

func TestDeviceAuthorizationRateLimit(t *testing.T) {
	e := newEnv(t)
	k := e.newKit()
	form := url.Values{"client_id": {"roomkit"}, "device_public_key": {provisioning.EncodePublicKey(k.key.Public().(ed25519.PublicKey))}}
	for i := range 60 {
		if code, b := e.form("/oauth/device_authorization", form); code != 200 {
			t.Fatalf("request %d: %d %s", i+1, code, b)
		}
	}
	code, hdr, b := e.do("POST", "/oauth/device_authorization", "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
	if code != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("61st request in a minute: %d %s (Retry-After %q), want 429 with Retry-After", code, b, hdr.Get("Retry-After"))
	}
	e.clock.Advance(time.Minute)
	if code, b := e.form("/oauth/device_authorization", form); code != 200 {
		t.Fatalf("after a minute: %d %s", code, b)
	}
}

// TestDeviceCodeErrors walks every RFC 8628 §3.5 answer.
func TestDeviceCodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		// run polls after setting up; it returns the last answer.
		run  func(e *env, k *kit, da deviceAuthResponse) (int, map[string]any)
		code int
		err  string
	}{
		{"pending", func(e *env, k *kit, da deviceAuthResponse) (int, map[string]any) {
			return k.poll(da.DeviceCode)
		}, 400, "authorization_pending"},
		{"slow_down", func(e *env, k *kit, da deviceAuthResponse) (int, map[string]any) {
			k.poll(da.DeviceCode)
			e.clock.Advance(500 * time.Millisecond)
			return k.poll(da.DeviceCode)
		}, 400, "slow_down"},
		{"slow_down grows the interval", func(e *env, k *kit, da deviceAuthResponse) (int, map[string]any) {
			k.poll(da.DeviceCode)
			e.clock.Advance(500 * time.Millisecond)
			k.poll(da.DeviceCode) // slow_down: interval is now 6 s
			e.clock.Advance(2 * time.Second)
			return k.poll(da.DeviceCode) // 2 s is enough for 1 s, not for 6 s
		}, 400, "slow_down"},
		{"polling at the interval is fine", func(e *env, k *kit, da deviceAuthResponse) (int, map[string]any) {
			k.poll(da.DeviceCode)
			e.clock.Advance(time.Second)
			return k.poll(da.DeviceCode)
		}, 400, "authorization_pending"},
		{"denied", func(e *env, k *kit, da deviceAuthResponse) (int, map[string]any) {
			if code, _, b := e.admin("DELETE", "/api/v1/admin/pairings/"+da.UserCode, nil); code != 204 {
				e.t.Fatalf("deny: %d %s", code, b)
			}
			return k.poll(da.DeviceCode)
		}, 400, "access_denied"},
		{"expired", func(e *env, k *kit, da deviceAuthResponse) (int, map[string]any) {
			e.clock.Advance(10*time.Minute + time.Second)
			return k.poll(da.DeviceCode)
		}, 400, "expired_token"},
		{"reused code", func(e *env, k *kit, da deviceAuthResponse) (int, map[string]any) {
			e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: "Boardroom"})
			if code, m := k.poll(da.DeviceCode); code != 200 {
				e.t.Fatalf("first poll after pairing: %d %v", code, m)
			}
			e.clock.Advance(5 * time.Second)
			return k.poll(da.DeviceCode)
		}, 400, "invalid_grant"},
		{"unknown code", func(e *env, k *kit, da deviceAuthResponse) (int, map[string]any) {
			return k.poll("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		}, 400, "invalid_grant"},
		{"approved", func(e *env, k *kit, da deviceAuthResponse) (int, map[string]any) {
			e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: "Boardroom"})
			return k.poll(da.DeviceCode)
		}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			k := e.newKit()
			da := k.authorize()
			code, m := tc.run(e, k, da)
			got, _ := m["error"].(string)
			if code != tc.code || got != tc.err {
				t.Fatalf("got %d %v, want %d %q", code, m, tc.code, tc.err)
			}
			if code == 200 {
				if m["token_type"] != "Bearer" || m["expires_in"] != float64(900) || m["access_token"] == "" {
					t.Errorf("token answer %v", m)
				}
				if room := m["room"].(map[string]any); room["name"] != "Boardroom" || room["time_zone"] != "UTC" {
					t.Errorf("room %v", room)
				}
			}
		})
	}
}

func TestAssertionFailures(t *testing.T) {
	e := newEnv(t)
	other := e.newKit()
	for _, tc := range []struct {
		name      string
		assertion func(k *kit) string
	}{
		{"wrong key", func(k *kit) string { return other.assertion() }},
		{"wrong aud", func(k *kit) string {
			a, _ := provisioning.SignAssertion(k.key, "http://elsewhere.example/oauth/token", e.clock.Now())
			return a
		}},
		{"expired", func(k *kit) string {
			a, _ := provisioning.SignAssertion(k.key, e.srv.tokenEndpoint(), e.clock.Now().Add(-2*time.Minute))
			return a
		}},
		{"garbage", func(k *kit) string { return "not.a.jws" }},
		{"replayed jti", func(k *kit) string {
			a := k.assertion()
			e.clock.Advance(10 * time.Second) // no slow_down: the replay is what must fail
			da := k.authorize()
			if code, m := k.pollWith(da.DeviceCode, a); code != 400 || m["error"] != "authorization_pending" {
				t.Fatalf("first use: %d %v", code, m)
			}
			return a
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := e.newKit()
			a := tc.assertion(k)
			da := k.authorize()
			code, m := k.pollWith(da.DeviceCode, a)
			if code != 401 || m["error"] != "invalid_client" {
				t.Fatalf("device_code grant: got %d %v, want 401 invalid_client", code, m)
			}
		})
	}
}

func TestTokenRequestErrors(t *testing.T) {
	e := newEnv(t)
	k := e.newKit()
	for _, tc := range []struct {
		name string
		form url.Values
		code int
		err  string
	}{
		{"no grant", url.Values{}, 400, "invalid_request"},
		{"unsupported grant", url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
		{"no device code", url.Values{"grant_type": {grantDeviceCode}, "client_assertion_type": {provisioning.AssertionType}, "client_assertion": {k.assertion()}}, 400, "invalid_request"},
		{"no assertion", url.Values{"grant_type": {grantClientCredentials}}, 401, "invalid_client"},
		{"wrong assertion type", url.Values{"grant_type": {grantClientCredentials}, "client_assertion_type": {"x"}, "client_assertion": {k.assertion()}}, 401, "invalid_client"},
		{"unpaired device", url.Values{"grant_type": {grantClientCredentials}, "client_assertion_type": {provisioning.AssertionType}, "client_assertion": {k.assertion()}}, 401, "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.form("/oauth/token", tc.form)
			if code != tc.code || errCode(t, b) != tc.err {
				t.Errorf("got %d %s, want %d %s", code, b, tc.code, tc.err)
			}
		})
	}
	code, _, b := e.do("POST", "/oauth/token", "application/json", []byte(`{}`), nil)
	if code != 400 || errCode(t, b) != "invalid_request" {
		t.Errorf("JSON body: %d %s", code, b)
	}
}

// TestTokenLifecycle: pairing gives a token that works, client_credentials
// renews it, it expires after 15 minutes, and unpairing revokes everything.
func TestTokenLifecycle(t *testing.T) {
	e := newEnv(t)
	k := e.newKit()
	roomID, tok := e.pairKit(k, "Boardroom")
	if code, b := e.heartbeat(tok, goodHeartbeat); code != 200 {
		t.Fatalf("heartbeat with a fresh token: %d %s", code, b)
	}
	code, m := k.refresh()
	if code != 200 {
		t.Fatalf("client_credentials: %d %v", code, m)
	}
	tok2 := m["access_token"].(string)
	if room := m["room"].(map[string]any); room["id"] != roomID || room["location"] != "3rd floor" || room["time_zone"] != "Europe/Zurich" {
		t.Errorf("room %v", room)
	}
	e.clock.Advance(15*time.Minute + time.Second)
	if code, b := e.heartbeat(tok, goodHeartbeat); code != 401 || errCode(t, b) != "invalid_token" {
		t.Errorf("expired token: %d %s, want 401 invalid_token", code, b)
	}
	code, m = k.refresh()
	if code != 200 {
		t.Fatalf("client_credentials after expiry: %d %v", code, m)
	}
	tok3 := m["access_token"].(string)
	if code, _ := e.heartbeat(tok3, goodHeartbeat); code != 200 {
		t.Fatalf("renewed token refused: %d", code)
	}
	if code, _, b := e.admin("DELETE", "/api/v1/admin/rooms/"+roomID, nil); code != 204 {
		t.Fatalf("unpair: %d %s", code, b)
	}
	for _, tk := range []string{tok2, tok3} {
		if code, b := e.heartbeat(tk, goodHeartbeat); code != 401 || errCode(t, b) != "invalid_token" {
			t.Errorf("token after unpair: %d %s, want 401", code, b)
		}
	}
	if code, m := k.refresh(); code != 401 || m["error"] != "invalid_client" {
		t.Errorf("client_credentials after unpair: %d %v, want 401 invalid_client", code, m)
	}
}

func TestJTIReplayOnClientCredentials(t *testing.T) {
	e := newEnv(t)
	k := e.newKit()
	e.pairKit(k, "Boardroom")
	a := k.assertion()
	form := url.Values{"grant_type": {grantClientCredentials}, "client_assertion_type": {provisioning.AssertionType}, "client_assertion": {a}}
	if code, b := e.form("/oauth/token", form); code != 200 {
		t.Fatalf("first use: %d %s", code, b)
	}
	if code, b := e.form("/oauth/token", form); code != 401 || errCode(t, b) != "invalid_client" {
		t.Fatalf("replay: %d %s, want 401 invalid_client", code, b)
	}
	_ = rand.Reader
}
