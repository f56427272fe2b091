package redact

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		gone           []string // must not survive
	}{
		{"bearer header", `GET /x Authorization: Bearer abc.DEF-123_x`, `GET /x Authorization: Bearer [redacted]`, []string{"abc.DEF"}},
		{"jwt", `assertion eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl sent`, `assertion [redacted] sent`, []string{"eyJ"}},
		{"form value", `body client_assertion=xyz&grant_type=client_credentials`, `body client_assertion=[redacted]&grant_type=client_credentials`, []string{"xyz"}},
		{"json value", `{"access_token":"s3cr3t","expires_in":900}`, `{"access_token":[redacted],"expires_in":900}`, []string{"s3cr3t"}},
		{"slog text attr", `level=INFO msg=x refresh_token=r-123 room=Boardroom`, `level=INFO msg=x refresh_token=[redacted] room=Boardroom`, []string{"r-123"}},
		{"pem", "key -----BEGIN PRIVATE KEY-----\nMC4CAQ\n-----END PRIVATE KEY----- end", "key [redacted] end", []string{"MC4CAQ"}},
		{"harmless", `msg="heartbeat failed" portal=https://portal.example err="connection refused"`, `msg="heartbeat failed" portal=https://portal.example err="connection refused"`, nil},
		{"device id stays", `paired room=Boardroom device_id=dev_7QX2 user_code=BCDF-GHJK`, `paired room=Boardroom device_id=dev_7QX2 user_code=BCDF-GHJK`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Text(tc.in)
			if got != tc.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			for _, g := range tc.gone {
				if strings.Contains(got, g) {
					t.Errorf("%q survived in %q", g, got)
				}
			}
		})
	}
}

func TestKey(t *testing.T) {
	for k, want := range map[string]bool{"access_token": true, "Authorization": true, "password": true, "private_key": true,
		"key_id": false, "room": false, "device_id": false, "err": false, "keypad": false, "client_assertion": true} {
		if got := Key(k); got != want {
			t.Errorf("Key(%q) = %v, want %v", k, got, want)
		}
	}
}

func FuzzText(f *testing.F) {
	f.Add(`Authorization: Bearer abc`)
	f.Add(`{"access_token":"x"}`)
	f.Add("-----BEGIN KEY-----\nabc")
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		if Text(out) != out {
			t.Errorf("not idempotent: %q → %q → %q", s, out, Text(out))
		}
	})
}
