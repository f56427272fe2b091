package portal

import (
	"html"
	"net/url"
	"strings"
	"testing"
)

// TestRoomNameText: names in any script are kept as typed; a name or
// location that cannot be one line of text is refused with a message that
// says which character, and the refusal costs the admin nothing: the kit
// stays waiting and the same code pairs it with a fixed name.
func TestRoomNameText(t *testing.T) {
	e := newEnv(t)
	waiting := e.newKit().authorize()
	for _, tc := range []struct {
		name, room, location string
		code                 int
		want                 string // the error, or "" for paired
	}{
		{"arabic", "غرفة الاجتماعات", "الطابق الثالث", 201, ""},
		{"hebrew with a right-to-left mark", "חדר ישיבות 3\u200f", "קומה 2", 201, ""},
		{"chinese", "会议室", "三楼", 201, ""},
		{"newline", "Boardroom\nstate: ready", "", 400, "The room name contains a line break (U+000A) at character 10; use one line of plain text."},
		{"terminal escape", "\x1b[2JBoardroom", "", 400, "The room name contains an escape character (U+001B) at character 1; use one line of plain text."},
		{"NUL", "Board\x00room", "", 400, "The room name contains a NUL character (U+0000) at character 6; use one line of plain text."},
		{"bidi override", "Room \u202e21.4", "", 400, "The room name contains an invisible text-direction control (U+202E) at character 6; use one line of plain text."},
		{"bidi isolate in the location", "Boardroom", "Floor \u2066 3", 400, "The location contains an invisible text-direction control (U+2066) at character 7; use one line of plain text."},
		{"C1 control", "Board\u009broom", "", 400, "The room name contains a control character (U+009B) at character 6; use one line of plain text."},
		{"too long", strings.Repeat("会", 81), "", 400, "The room name has 81 characters, at most 80 fit."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			userCode := waiting.UserCode
			if tc.code == 201 {
				userCode = e.newKit().authorize().UserCode
			}
			code, _, b := e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: userCode, Name: tc.room, Location: tc.location})
			if code != tc.code {
				t.Fatalf("%d %s, want %d", code, b, tc.code)
			}
			if tc.want != "" {
				if got := errCode(t, b); got != tc.want {
					t.Errorf("error %q, want %q", got, tc.want)
				}
				return
			}
			found := false
			for _, r := range listRoomsAPI(t, e) {
				found = found || (r.Name == tc.room && r.Location == tc.location)
			}
			if !found {
				t.Errorf("room %q in %q is not listed as typed: %+v", tc.room, tc.location, listRoomsAPI(t, e))
			}
		})
	}
	code, _, b := e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: waiting.UserCode, Name: "Boardroom"})
	if code != 201 {
		t.Errorf("the code refused with bad names no longer pairs: %d %s", code, b)
	}
}

// TestRoomNameTextForm: the admin center's form refuses the same names
// with the same words, and keeps what was typed in the form.
func TestRoomNameTextForm(t *testing.T) {
	e := newEnv(t)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	if code, page := b.login("it@example.com", "correct4horse"); code != 200 {
		t.Fatalf("login: %d\n%s", code, page)
	}
	_, page := b.get("/admin/pair")
	csrf := csrfOf(t, page)
	da := e.newKit().authorize()
	code, page := b.post("/admin/pair", url.Values{"csrf": {csrf}, "user_code": {da.UserCode},
		"name": {"Board\u202eroom"}, "location": {"3rd floor"}}, e.ts.URL)
	want := "The room name contains an invisible text-direction control (U+202E) at character 6; use one line of plain text."
	if code != 400 || !strings.Contains(html.UnescapeString(page), want) || !strings.Contains(page, "3rd floor") {
		t.Fatalf("form with an override: %d, want 400 saying %q and keeping the location:\n%s", code, want, page)
	}
	code, page = b.post("/admin/pair", url.Values{"csrf": {csrf}, "user_code": {da.UserCode},
		"name": {"غرفة الاجتماعات"}, "location": {"3rd floor"}}, e.ts.URL)
	if code != 200 || !strings.Contains(page, "غرفة الاجتماعات") {
		t.Fatalf("form with an Arabic name: %d\n%s", code, page)
	}
}

// TestHeartbeatText: what a kit reports is refused whole when a field is
// not one line of text, and the room keeps showing its last good report.
func TestHeartbeatText(t *testing.T) {
	e := newEnv(t)
	_, tok := e.pairKit(e.newKit(), "Boardroom")
	if code, b := e.heartbeat(tok, goodHeartbeat); code != 200 {
		t.Fatalf("good heartbeat: %d %s", code, b)
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"state with ESC", `{"state":"ready\u001b[31m"}`, "Bad heartbeat: state contains an escape character (U+001B) at character 6; use one line of plain text"},
		{"version with a newline", `{"state":"ready","version":"1.0\nroom: hacked"}`, "Bad heartbeat: version contains a line break (U+000A) at character 4; use one line of plain text"},
		{"device name with NUL", `{"state":"ready","devices":[{"kind":"camera","name":"Cam\u0000"}]}`, "Bad heartbeat: devices[0].name contains a NUL character (U+0000) at character 4; use one line of plain text"},
		{"device error with override", `{"state":"ready","devices":[{"kind":"camera","name":"Cam","error":"\u202eeno"}]}`, "Bad heartbeat: devices[0].error contains an invisible text-direction control (U+202E) at character 1; use one line of plain text"},
		{"device kind with a tab", `{"state":"ready","devices":[{"kind":"cam\tera"}]}`, "Bad heartbeat: devices[0].kind contains a tab (U+0009) at character 4; use one line of plain text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.heartbeat(tok, tc.body)
			if code != 400 || errCode(t, b) != tc.want {
				t.Fatalf("%d %s, want 400 %q", code, b, tc.want)
			}
			rooms := listRoomsAPI(t, e)
			if len(rooms) != 1 || rooms[0].State != "ready" || rooms[0].Version != "0.1.0" || rooms[0].Devices[0].Name != "Synthetic camera" {
				t.Errorf("a refused heartbeat changed the room: %+v", rooms)
			}
		})
	}
}

func TestJoinNameText(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		code     int
		want     string // the error, or the name kept
	}{
		{"arabic", "  ليلى  ", 200, "ليلى"},
		{"hebrew", "דנה", 200, "דנה"},
		{"chinese", "王芳", 200, "王芳"},
		{"bell", "Ada\a", 400, "Your name contains a control character (U+0007) at character 4; use one line of plain text."},
		{"newline", "Ada\nBob", 400, "Your name contains a line break (U+000A) at character 4; use one line of plain text."},
		{"override", "Ada \u202enimda", 400, "Your name contains an invisible text-direction control (U+202E) at character 5; use one line of plain text."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, herr := checkJoinName(tc.in)
			switch {
			case herr != nil && (herr.status != tc.code || herr.msg != tc.want):
				t.Errorf("%d %q, want %d %q", herr.status, herr.msg, tc.code, tc.want)
			case herr == nil && (tc.code != 200 || got != tc.want):
				t.Errorf("accepted as %q, want %d %q", got, tc.code, tc.want)
			}
		})
	}
}
