package portal

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAdminAPI(t *testing.T) {
	e := newEnv(t)
	k := e.newKit()
	da := k.authorize()

	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		token  string
		code   int
		errHas string
	}{
		{"no token", "GET", "/api/v1/admin/rooms", nil, "-", 401, "admin API token"},
		{"bad token", "GET", "/api/v1/admin/rooms", nil, "rka_nope", 401, "unknown"},
		{"empty list", "GET", "/api/v1/admin/rooms", nil, "", 200, ""},
		{"malformed body", "POST", "/api/v1/admin/pairings", `{"user_code":`, "", 400, "not valid JSON"},
		{"unknown field", "POST", "/api/v1/admin/pairings", `{"user_code":"x","room":"y"}`, "", 400, `unknown field "room"`},
		{"oversize", "POST", "/api/v1/admin/pairings", `{"name":"` + strings.Repeat("a", 65<<10) + `"}`, "", 413, "64 KiB"},
		{"not a code", "POST", "/api/v1/admin/pairings", pairRequest{UserCode: "AEIO-1234", Name: "X"}, "", 400, "not a pairing code"},
		{"no name", "POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode}, "", 400, "name"},
		{"bad time zone", "POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: "X", TimeZone: "Mars/Olympus"}, "", 400, "not a time zone"},
		{"pair", "POST", "/api/v1/admin/pairings", pairRequest{UserCode: strings.ToLower(strings.ReplaceAll(da.UserCode, "-", " ")), Name: "Boardroom", Location: "3rd floor", TimeZone: "Europe/Zurich"}, "", 201, ""},
		{"pair again", "POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: "Boardroom"}, "", 409, "already used"},
		{"deny used", "DELETE", "/api/v1/admin/pairings/" + da.UserCode, nil, "", 409, "already used"},
		{"unpair unknown", "DELETE", "/api/v1/admin/rooms/rm_nope", nil, "", 404, "no room"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := e.token
			switch tc.token {
			case "-":
				e.token = ""
			case "":
			default:
				e.token = tc.token
			}
			code, _, b := e.admin(tc.method, tc.path, tc.body)
			e.token = saved
			if code != tc.code {
				t.Fatalf("status %d (%s), want %d", code, b, tc.code)
			}
			if tc.errHas != "" && !strings.Contains(strings.ToLower(errCode(t, b)), strings.ToLower(tc.errHas)) {
				t.Errorf("error %q does not say %q", errCode(t, b), tc.errHas)
			}
		})
	}

	rooms := listRoomsAPI(t, e)
	if len(rooms) != 1 || rooms[0].Name != "Boardroom" || rooms[0].Online || rooms[0].LastSeen != nil || rooms[0].State != "paired" {
		t.Fatalf("rooms: %+v", rooms)
	}
	// Deny a second kit's code, then unpair the first room.
	da2 := e.newKit().authorize()
	if code, _, b := e.admin("DELETE", "/api/v1/admin/pairings/"+da2.UserCode, nil); code != http.StatusNoContent {
		t.Fatalf("deny: %d %s", code, b)
	}
	if code, _, b := e.admin("DELETE", "/api/v1/admin/rooms/"+rooms[0].ID, nil); code != http.StatusNoContent {
		t.Fatalf("unpair: %d %s", code, b)
	}
	if rooms := listRoomsAPI(t, e); len(rooms) != 0 {
		t.Fatalf("rooms after unpair: %+v", rooms)
	}
}

// TestWrongCodeLockout: 5 wrong codes are answered 404, the 6th attempt
// and everything for 15 minutes 429, even a right code; then it works.
func TestWrongCodeLockout(t *testing.T) {
	e := newEnv(t)
	da := e.newKit().authorize()
	wrong := "BBBB-BBBB"
	if da.UserCode == wrong {
		wrong = "CCCC-CCCC"
	}
	for i := range 5 {
		code, _, b := e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: wrong, Name: "X"})
		if code != 404 || !strings.Contains(errCode(t, b), "No room is waiting with the code "+wrong) {
			t.Fatalf("wrong code %d: %d %s, want 404", i+1, code, b)
		}
	}
	right := pairRequest{UserCode: da.UserCode, Name: "Boardroom"}
	code, hdr, b := e.admin("POST", "/api/v1/admin/pairings", right)
	if code != 429 || hdr.Get("Retry-After") != "900" {
		t.Fatalf("6th attempt (right code): %d %s Retry-After %q, want 429 and 900", code, b, hdr.Get("Retry-After"))
	}
	// Deny is a code entry too.
	if code, _, _ := e.admin("DELETE", "/api/v1/admin/pairings/"+wrong, nil); code != 429 {
		t.Fatalf("deny while locked out: %d, want 429", code)
	}
	// A second token from the same address is locked out too (per address).
	other, _ := e.srv.CreateAPIToken("other")
	saved := e.token
	e.token = other
	if code, _, _ := e.admin("POST", "/api/v1/admin/pairings", right); code != 429 {
		t.Fatalf("other token, same address: %d, want 429", code)
	}
	e.token = saved
	e.clock.Advance(14 * time.Minute)
	if code, _, _ := e.admin("POST", "/api/v1/admin/pairings", right); code != 429 {
		t.Fatalf("after 14 minutes: %d, want 429", code)
	}
	e.clock.Advance(time.Minute + time.Second)
	right.UserCode = e.newKit().authorize().UserCode // the first code expired meanwhile
	if code, _, b := e.admin("POST", "/api/v1/admin/pairings", right); code != 201 {
		t.Fatalf("after 15 minutes: %d %s, want 201", code, b)
	}
}
