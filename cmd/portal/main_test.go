package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run runs "portal args…" with stdin and returns stdout, stderr and the error.
func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := command(args, cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut})
	return out.String(), errOut.String(), err
}

func TestAdminCommands(t *testing.T) {
	data := t.TempDir()
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("from4file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const warning = "visible to other users in the process list"
	for _, tc := range []struct {
		name    string
		stdin   string
		args    []string
		wantOut string // in stdout
		wantErr string // in the error; "" means it works
		warns   bool   // stderr has the process-list warning
	}{
		{"password from stdin", "correct4horse\n", []string{"admin", "create", "-data", data, "-email", "a@example.com", "-password", "-"}, "administrator a@example.com created", "", false},
		{"password from a file", "", []string{"admin", "create", "-data", data, "-email", "b@example.com", "-password-file", pwFile}, "administrator b@example.com created", "", false},
		{"password on the command line", "", []string{"admin", "create", "-data", data, "-email", "c@example.com", "-password", "correct4horse"}, "administrator c@example.com created", "", true},
		{"no password", "", []string{"admin", "create", "-data", data, "-email", "d@example.com"}, "", "-password - (read from stdin) or -password-file", false},
		{"empty stdin", "", []string{"admin", "create", "-data", data, "-email", "d@example.com", "-password", "-"}, "", "read the password from stdin: it is empty", false},
		{"missing file", "", []string{"admin", "create", "-data", data, "-email", "d@example.com", "-password-file", pwFile + ".nope"}, "", "no such file", false},
		{"both", "", []string{"admin", "create", "-data", data, "-email", "d@example.com", "-password", "x", "-password-file", pwFile}, "", "not both", false},
		{"no email", "", []string{"admin", "create", "-data", data, "-password", "-"}, "", "admin create needs -email", false},
		{"weak password", "short\n", []string{"admin", "create", "-data", data, "-email", "d@example.com", "-password", "-"}, "", "at least 8 characters", false},
		{"passwd from stdin", "battery9staple\r\n", []string{"admin", "passwd", "-data", data, "-email", "a@example.com"}, "password of a@example.com changed; 0 sessions signed out", "", false},
		{"passwd unknown admin", "battery9staple\n", []string{"admin", "passwd", "-data", data, "-email", "x@example.com"}, "", "no such administrator: x@example.com", false},
		{"revoke sessions", "", []string{"admin", "revoke-sessions", "-data", data, "-email", "b@example.com"}, "0 sessions of b@example.com signed out", "", false},
		{"revoke sessions without email", "", []string{"admin", "revoke-sessions", "-data", data}, "", "needs -email", false},
		{"unknown command", "", []string{"admin", "delete"}, "", `unknown command "admin delete"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := run(t, tc.stdin, tc.args...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("portal %q: %v\n%s", tc.args, err, errOut)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("portal %q: %v, want an error saying %q", tc.args, err, tc.wantErr)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("portal %q printed %q, want %q", tc.args, out, tc.wantOut)
			}
			if strings.Contains(errOut, warning) != tc.warns {
				t.Errorf("portal %q: warning shown %v, want %v: %q", tc.args, !tc.warns, tc.warns, errOut)
			}
			for _, secret := range []string{"correct4horse", "battery9staple", "from4file"} {
				if strings.Contains(out+errOut, secret) || (err != nil && strings.Contains(err.Error(), secret)) {
					t.Errorf("portal %q printed the password", tc.args)
				}
			}
		})
	}
}

func TestTokenCreateExpires(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		expires string // "" leaves the flag out
		wantErr string
		want    time.Duration
	}{
		{"", "", 90 * 24 * time.Hour},
		{"30d", "", 30 * 24 * time.Hour},
		{"12h", "", 12 * time.Hour},
		{"0d", `-expires "0d": want a number of days`, 0},
		{"soon", `-expires "soon": want a number of days`, 0},
		{"-5h", "want a number of days", 0},
		{"1000d", "between 1 minute and 730 days", 0},
	} {
		t.Run(tc.expires, func(t *testing.T) {
			args := []string{"token", "create", "-data", data, "-name", "inventory"}
			if tc.expires != "" {
				args = append(args, "-expires", tc.expires)
			}
			before := time.Now()
			out, errOut, err := run(t, "", args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("-expires %q: %v, want an error saying %q", tc.expires, err, tc.wantErr)
				}
				return
			}
			if err != nil || !strings.HasPrefix(out, "rka_") || strings.Count(out, "\n") != 1 {
				t.Fatalf("-expires %q: %q %v; want the token alone on stdout", tc.expires, out, err)
			}
			_, when, ok := strings.Cut(strings.TrimSpace(errOut), "expires ")
			exp, perr := time.Parse("2006-01-02 15:04 UTC", when)
			if !ok || perr != nil {
				t.Fatalf("stderr %q does not say when the token expires", errOut)
			}
			if want := before.Add(tc.want).UTC().Truncate(time.Minute); exp.Before(want.Add(-time.Minute)) || exp.After(want.Add(time.Minute)) {
				t.Errorf("-expires %q: expires %v, want about %v", tc.expires, exp, want)
			}
		})
	}
}
