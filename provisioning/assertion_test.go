package provisioning

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const aud = "https://portal.example/oauth/token"

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// forge signs arbitrary claims with key, for the cases a real kit never sends.
func forge(key ed25519.PrivateKey, alg string, c Claims) string {
	h, _ := json.Marshal(assertionHeader{Alg: alg, Kid: c.Sub})
	cb, _ := json.Marshal(c)
	s := b64.EncodeToString(h) + "." + b64.EncodeToString(cb)
	return s + "." + b64.EncodeToString(ed25519.Sign(key, []byte(s)))
}

func TestVerifyAssertion(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	key, other := newKey(t), newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	good, err := SignAssertion(key, aud, now)
	if err != nil {
		t.Fatal(err)
	}
	valid := Claims{Iss: ClientID, Sub: DeviceID(pub), Aud: aud, Iat: now.Unix(), Exp: now.Add(time.Minute).Unix(), Jti: "x"}
	with := func(f func(*Claims)) Claims { c := valid; f(&c); return c }

	for _, tc := range []struct {
		name    string
		token   string
		pub     ed25519.PublicKey
		at      time.Time
		wantErr string
	}{
		{"valid", good, pub, now, ""},
		{"valid a little later", good, pub, now.Add(50 * time.Second), ""},
		{"expired", good, pub, now.Add(2 * time.Minute), "expired"},
		{"another device's key", good, other.Public().(ed25519.PublicKey), now, "signature"},
		{"signed by another key", forge(other, "EdDSA", valid), pub, now, "signature"},
		{"wrong audience", forge(key, "EdDSA", with(func(c *Claims) { c.Aud = "https://evil.example/token" })), pub, now, "aud"},
		{"wrong issuer", forge(key, "EdDSA", with(func(c *Claims) { c.Iss = "someone" })), pub, now, "iss"},
		{"wrong subject", forge(key, "EdDSA", with(func(c *Claims) { c.Sub = "someone" })), pub, now, "sub"},
		{"alg none", forge(key, "none", valid), pub, now, "alg"},
		{"no jti", forge(key, "EdDSA", with(func(c *Claims) { c.Jti = "" })), pub, now, "jti"},
		{"lives too long", forge(key, "EdDSA", with(func(c *Claims) { c.Exp = now.Add(time.Hour).Unix() })), pub, now, "longer"},
		{"from the future", forge(key, "EdDSA", with(func(c *Claims) { c.Iat = now.Add(time.Hour).Unix(); c.Exp = c.Iat + 60 })), pub, now, "future"},
		{"two parts", "a.b", pub, now, "3 parts"},
		{"bad base64", "a.b.c!", pub, now, "base64"},
		{"huge", strings.Repeat("a", 5000), pub, now, "longer"},
		{"tampered claims", good[:len(good)-90] + "A" + good[len(good)-89:], pub, now, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyAssertion(tc.token, tc.pub, aud, tc.at)
			if tc.name == "tampered claims" { // any error will do, but there must be one
				if err == nil {
					t.Fatal("a tampered assertion verified")
				}
				return
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyAssertion: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrBadAssertion) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("VerifyAssertion error = %v, want one about %q", err, tc.wantErr)
			}
		})
	}
}

func TestPublicKeyEncoding(t *testing.T) {
	pub := newKey(t).Public().(ed25519.PublicKey)
	got, err := DecodePublicKey(EncodePublicKey(pub))
	if err != nil || !got.Equal(pub) {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	for _, bad := range []string{"", "abc", EncodePublicKey(pub) + "AA", "!!!!"} {
		if _, err := DecodePublicKey(bad); err == nil {
			t.Errorf("DecodePublicKey(%q) accepted", bad)
		}
	}
}

func FuzzVerifyAssertion(f *testing.F) {
	key := newKey(f)
	now := time.Unix(1800000000, 0)
	good, _ := SignAssertion(key, aud, now)
	f.Add(good)
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	pub := key.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, token string) {
		c, err := VerifyAssertion(token, pub, aud, now)
		if err == nil && (c.Sub != DeviceID(pub) || c.Aud != aud) {
			t.Fatalf("accepted an assertion for %q/%q", c.Sub, c.Aud)
		}
	})
}
