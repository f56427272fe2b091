package provisioning

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ClientID is the OAuth client ID every kit uses; the device ID in the
// assertion's subject tells kits apart.
const ClientID = "roomkit"

// AssertionType is the RFC 7523 client_assertion_type.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// NotPairedDescription is the token endpoint's error_description, with
// invalid_client, when the portal holds no room for the device the
// assertion names (docs/protocol.md §4). The kit compares it whole: it is
// the only refusal that makes a kit forget its room, so nothing else may
// look like it.
const NotPairedDescription = "this device is not paired with a room"

// MaxAssertionLifetime bounds exp-iat, so a captured assertion is useless soon.
const MaxAssertionLifetime = 5 * time.Minute

// maxAssertionSize caps what VerifyAssertion parses.
const maxAssertionSize = 2048

var b64 = base64.RawURLEncoding

// ErrBadAssertion is wrapped by every VerifyAssertion failure.
var ErrBadAssertion = errors.New("invalid client assertion")

// DeviceID derives a kit's ID from its public key: base64url(sha256(key)).
func DeviceID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return b64.EncodeToString(sum[:])
}

// EncodePublicKey and DecodePublicKey carry a key in the device
// authorization request (device_public_key).
func EncodePublicKey(pub ed25519.PublicKey) string { return b64.EncodeToString(pub) }

func DecodePublicKey(s string) (ed25519.PublicKey, error) {
	raw, err := b64.DecodeString(s)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("device_public_key must be %d bytes of unpadded base64url", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

type assertionHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid"`
}

// Claims are the RFC 7523 claims of a kit's client assertion.
type Claims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

// SignAssertion makes a compact EdDSA JWS client assertion for the token
// endpoint aud, valid for one minute from now.
func SignAssertion(key ed25519.PrivateKey, aud string, now time.Time) (string, error) {
	pub := key.Public().(ed25519.PublicKey)
	id := DeviceID(pub)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("assertion jti: %w", err)
	}
	h, _ := json.Marshal(assertionHeader{Alg: "EdDSA", Typ: "JWT", Kid: id})
	c, _ := json.Marshal(Claims{
		Iss: ClientID, Sub: id, Aud: aud,
		Iat: now.Unix(), Exp: now.Add(time.Minute).Unix(),
		Jti: b64.EncodeToString(jti),
	})
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sig := ed25519.Sign(key, []byte(signing))
	return signing + "." + b64.EncodeToString(sig), nil
}

// ParseAssertion decodes an assertion without checking its signature, to
// learn which device it claims to come from. Only VerifyAssertion's result
// may be trusted.
func ParseAssertion(token string) (Claims, error) {
	_, c, _, _, err := splitAssertion(token)
	return c, err
}

func splitAssertion(token string) (assertionHeader, Claims, []byte, string, error) {
	var h assertionHeader
	var c Claims
	if len(token) > maxAssertionSize {
		return h, c, nil, "", fmt.Errorf("%w: longer than %d bytes", ErrBadAssertion, maxAssertionSize)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return h, c, nil, "", fmt.Errorf("%w: not a compact JWS (want 3 parts, have %d)", ErrBadAssertion, len(parts))
	}
	hb, err1 := b64.DecodeString(parts[0])
	cb, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return h, c, nil, "", fmt.Errorf("%w: bad base64url", ErrBadAssertion)
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, c, nil, "", fmt.Errorf("%w: header: %v", ErrBadAssertion, err)
	}
	if err := json.Unmarshal(cb, &c); err != nil {
		return h, c, nil, "", fmt.Errorf("%w: claims: %v", ErrBadAssertion, err)
	}
	return h, c, sig, parts[0] + "." + parts[1], nil
}

// VerifyAssertion checks a kit's client assertion against the public key
// the portal holds for it and the token endpoint URL aud. The caller must
// also refuse a jti it has seen before, until Claims.Exp.
func VerifyAssertion(token string, pub ed25519.PublicKey, aud string, now time.Time) (Claims, error) {
	h, c, sig, signing, err := splitAssertion(token)
	if err != nil {
		return c, err
	}
	switch {
	case h.Alg != "EdDSA":
		return c, fmt.Errorf("%w: alg %q, want EdDSA", ErrBadAssertion, h.Alg)
	case len(pub) != ed25519.PublicKeySize:
		return c, fmt.Errorf("%w: no usable key for this device", ErrBadAssertion)
	case !ed25519.Verify(pub, []byte(signing), sig):
		return c, fmt.Errorf("%w: signature does not match the device's key", ErrBadAssertion)
	case c.Iss != ClientID:
		return c, fmt.Errorf("%w: iss %q, want %q", ErrBadAssertion, c.Iss, ClientID)
	case c.Sub != DeviceID(pub) || h.Kid != c.Sub:
		return c, fmt.Errorf("%w: sub does not name this device", ErrBadAssertion)
	case c.Aud != aud:
		return c, fmt.Errorf("%w: aud %q, want %q", ErrBadAssertion, c.Aud, aud)
	case c.Jti == "":
		return c, fmt.Errorf("%w: no jti", ErrBadAssertion)
	case c.Exp <= now.Unix():
		return c, fmt.Errorf("%w: expired", ErrBadAssertion)
	case c.Iat > now.Add(time.Minute).Unix():
		return c, fmt.Errorf("%w: issued in the future", ErrBadAssertion)
	case c.Exp-c.Iat > int64(MaxAssertionLifetime/time.Second):
		return c, fmt.Errorf("%w: lives longer than %v", ErrBadAssertion, MaxAssertionLifetime)
	}
	return c, nil
}
