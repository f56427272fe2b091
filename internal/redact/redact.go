// Package redact takes secrets out of log lines before they leave the
// kit: a kit uploads its recent log lines when an admin asks for them
// (docs/protocol.md §5.1), and neither its access token, its keys nor a
// password may travel with them.
//
// The rules: an attribute whose key names a secret (token, key, secret,
// password, assertion, authorization, cookie, credential, device_code)
// loses its value whatever it is; in any text, a bearer token, a JWT, a
// "name=value" whose name is a secret's, and a PEM block are replaced by
// [redacted]. Redaction errs on the side of hiding: a log line is for
// finding a fault, not for recovering values.
package redact

import (
	"regexp"
	"strings"
)

// Mark replaces what was taken out.
const Mark = "[redacted]"

// secretWords are the parts of an attribute's name that make its value
// secret.
var secretWords = []string{"token", "secret", "password", "passwd", "assertion", "authorization", "cookie",
	"credential", "device_code", "private", "key"}

// harmlessKeys end in a secret word but name no secret.
var harmlessKeys = map[string]bool{"key_id": true, "keypad": true}

// Key reports whether an attribute called key holds a secret.
func Key(key string) bool {
	k := strings.ToLower(key)
	if harmlessKeys[k] {
		return false
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

var patterns = []*regexp.Regexp{
	// PEM blocks (keys, certificates' private parts).
	regexp.MustCompile(`-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)`),
	// Authorization: Bearer <token>, Basic <credentials>.
	regexp.MustCompile(`(?i)(bearer|\bbasic)\s+[A-Za-z0-9._~+/=-]+`),
	// JWTs and JWS assertions: three base64url parts, the first a JSON header.
	regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`),
	// name=value and "name":"value" where the name is a secret's.
	regexp.MustCompile(`(?i)("?[a-z_]*(token|secret|password|passwd|assertion|credential|device_code|private_key|api_key)[a-z_]*"?\s*[=:]\s*)("[^"]*"|[^\s&,;"\[\]{}]+)`),
}

// Text returns s with every secret it recognises replaced by Mark.
func Text(s string) string {
	for i, p := range patterns {
		if i == len(patterns)-1 {
			s = p.ReplaceAllString(s, "${1}"+Mark)
			continue
		}
		s = p.ReplaceAllStringFunc(s, func(m string) string {
			if i == 1 { // keep the scheme's word: "Bearer [redacted]" still says what it was
				if f := strings.Fields(m); len(f) > 0 {
					return f[0] + " " + Mark
				}
			}
			return Mark
		})
	}
	return s
}
