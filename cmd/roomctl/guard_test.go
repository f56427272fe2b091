package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roomkit/appliance"
	"roomkit/appliance/control"
)

func TestParseUptime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"5236.08 20563.95\n", 5236080 * time.Millisecond, false},
		{"12 3", 12 * time.Second, false},
		{"0.00 0.00", 0, false},
		{"", 0, true},
		{"up 5 minutes", 0, true},
		{"-3.0 1.0", 0, true},
		{"NaN 1", 0, true},
		{"1e300 1", 0, true},
	} {
		got, err := parseUptime(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseUptime(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseUptime(f *testing.F) {
	f.Add("5236.08 20563.95\n")
	f.Add("Inf")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseUptime(s); err == nil && d < 0 {
			t.Fatalf("parseUptime(%q) = %v", s, d)
		}
	})
}

// fakeControl is roomd's control API answering status with what the test
// sets, behind the credential in a state directory.
func fakeControl(t *testing.T, status func() (int, any)) (addr, stateDir string) {
	t.Helper()
	stateDir = t.TempDir()
	const token = "0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(filepath.Join(stateDir, control.TokenFile), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/status" || r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"error":"not allowed"}`, http.StatusUnauthorized)
			return
		}
		code, body := status()
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), stateDir
}

// TestRoomdInMeeting: the guard sees a meeting only when roomd answers
// that one runs; a roomd that cannot be asked is an error (no meeting
// seen).
func TestRoomdInMeeting(t *testing.T) {
	inMeeting := appliance.Status{State: appliance.InMeeting, Meeting: &appliance.MeetingStatus{ID: "123456789"}}
	for _, tc := range []struct {
		name    string
		code    int
		body    any
		meeting bool
		err     string
	}{
		{"in a meeting", 200, inMeeting, true, ""},
		{"ready", 200, appliance.Status{State: appliance.Ready}, false, ""},
		{"updating", 200, appliance.Status{State: appliance.Updating}, false, ""},
		{"roomd fails", 500, map[string]string{"error": "internal"}, false, "roomd: internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, state := fakeControl(t, func() (int, any) { return tc.code, tc.body })
			got, err := roomdInMeeting(addr, state)(context.Background())
			if got != tc.meeting || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("= %v, %v; want %v, error %q", got, err, tc.meeting, tc.err)
			}
		})
	}
	t.Run("roomd not running", func(t *testing.T) {
		addr, state := fakeControl(t, func() (int, any) { return 200, inMeeting })
		_, err := roomdInMeeting("127.0.0.1:1", state)(context.Background())
		if err == nil || !strings.Contains(err.Error(), "roomd is not running") {
			t.Errorf("err %v (fake at %s)", err, addr)
		}
	})
	t.Run("no credential yet", func(t *testing.T) {
		_, err := roomdInMeeting("127.0.0.1:1", t.TempDir())(context.Background())
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("err %v", err)
		}
	})
}

func TestGuardUsage(t *testing.T) {
	for _, args := range [][]string{{"ota-guard", "now"}, {"ota-guard", "-deadline", "soon"}} {
		var out, errOut bytes.Buffer
		if err := run(args, &out, &errOut); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "ota-guard") {
			t.Errorf("roomctl %q: %v; want a usage error naming ota-guard", args, err)
		}
	}
}
