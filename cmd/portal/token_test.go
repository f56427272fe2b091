package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"roomkit/portal"
)

// TestTokenCreateRole: -role and -group make a token that the portal
// holds to them; bad values are refused in words.
func TestTokenCreateRole(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		args    []string
		wantErr string
		stderr  string
	}{
		{[]string{"-role", "boss"}, `"boss" is not a role: use viewer, admin or owner`, ""},
		{[]string{"-group", "east,west"}, "a token is limited to one group, not 2", ""},
		{nil, "", "admin of the whole account"},
		{[]string{"-role", "viewer", "-group", "east"}, "", `viewer of the group "east"`},
	} {
		args := append([]string{"token", "create", "-data", data, "-name", "ci"}, tc.args...)
		out, errOut, err := run(t, "", args...)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: %v, want an error saying %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !strings.Contains(errOut, tc.stderr) {
			t.Fatalf("%q: %v, stderr %q; want %q", tc.args, err, errOut, tc.stderr)
		}
		if tc.stderr != `viewer of the group "east"` {
			continue
		}
		// The viewer token reads, and may not change.
		s, err := portal.New(portal.Config{DataDir: data, URL: "http://127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		tok := strings.TrimSpace(out)
		for _, c := range []struct {
			method, path string
			want         int
		}{
			{"GET", "/api/v1/admin/rooms", 200},
			{"POST", "/api/v1/admin/pairings", 403},
		} {
			req := httptest.NewRequest(c.method, c.path, strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Errorf("viewer token: %s %s: %d %s, want %d", c.method, c.path, rec.Code, rec.Body, c.want)
			}
		}
	}
}
