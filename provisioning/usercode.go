// Package provisioning holds what both sides of pairing a kit with the
// portal share (RFC 8628 device authorization with RFC 7523 client
// assertions, see docs/protocol.md): the kit's identity and the
// assertions it signs, user codes, the protocol's constants, the rule for
// which portal URLs a kit may trust, and the state a kit keeps on /perm.
// The kit's HTTP client for the portal is portalapi; the portal itself
// needs only this package.
package provisioning

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// UserCodeAlphabet has no vowels, so no code spells a word, and no digits,
// so 0/O and 1/I cannot be confused (RFC 8628 §6.1).
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCodeLength gives 20^8 ≈ 2.6·10^10 codes: with 5 wrong guesses per
// 10 minutes allowed, guessing a live code is hopeless.
const UserCodeLength = 8

// ErrBadUserCode is wrapped by NormalizeUserCode's errors.
var ErrBadUserCode = errors.New("not a pairing code")

// NewUserCode returns a random user code in its raw form (no dash).
func NewUserCode() (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(UserCodeAlphabet)))
	for range UserCodeLength {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("new user code: %w", err)
		}
		b.WriteByte(UserCodeAlphabet[n.Int64()])
	}
	return b.String(), nil
}

// FormatUserCode shows a raw code as XXXX-XXXX, the way the kit displays it.
func FormatUserCode(raw string) string {
	if len(raw) != UserCodeLength {
		return raw
	}
	return raw[:4] + "-" + raw[4:]
}

// NormalizeUserCode turns what a person typed into the raw code: case,
// spaces and dashes are ignored. It says what is wrong with anything else.
func NormalizeUserCode(typed string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r < 128 && strings.IndexByte(UserCodeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("%w: %q is not one of the letters a kit shows (%s)", ErrBadUserCode, r, UserCodeAlphabet)
		}
	}
	if b.Len() != UserCodeLength {
		return "", fmt.Errorf("%w: a pairing code has %d letters, this has %d", ErrBadUserCode, UserCodeLength, b.Len())
	}
	return b.String(), nil
}
