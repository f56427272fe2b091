package portal

import (
	"encoding/csv"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ownerToken gives the env's API calls the owner role.
func ownerToken(t *testing.T, e *env) {
	t.Helper()
	tok, _, err := e.srv.CreateAPITokenWith("owner script", TokenOptions{Role: RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	e.token = tok
}

func invite(t *testing.T, e *env, body string) (int, map[string]any) {
	t.Helper()
	code, _, b := e.admin("POST", "/api/v1/admin/admins/invites", body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return code, m
}

// linkPath is the path of a one-time link's URL.
func linkPath(t *testing.T, link any) string {
	t.Helper()
	u, err := url.Parse(link.(string))
	if err != nil || !strings.HasPrefix(u.Path, "/admin/invite/") {
		t.Fatalf("link %v", link)
	}
	return u.Path
}

// TestInvite: an owner invites; the link opens a page that sets the
// password and makes the administrator with the role and groups invited;
// it works once, and not after it expired.
func TestInvite(t *testing.T) {
	e := newEnv(t)
	ownerToken(t, e)
	for _, tc := range []struct {
		body, want string
		code       int
	}{
		{`{"email":"not-an-email","role":"admin"}`, `"not-an-email" is not an email address.`, 400},
		{`{"email":"a@example.com","role":"boss"}`, `"boss" is not a role`, 400},
		{`{"email":"a@example.com","role":"owner","groups":["east"]}`, "An owner manages the whole account", 400},
		{`{"email":"a@example.com","role":"admin","groups":["a,b"]}`, "Bad groups", 400},
	} {
		if code, m := invite(t, e, tc.body); code != tc.code || !strings.Contains(m["error"].(string), tc.want) {
			t.Errorf("invite %s: %d %v, want %d saying %q", tc.body, code, m, tc.code, tc.want)
		}
	}
	code, m := invite(t, e, `{"email":"ana@example.com","role":"admin","groups":["east"]}`)
	if code != 201 || m["expires"] != "2026-11-05T09:00:00Z" {
		t.Fatalf("invite: %d %v", code, m)
	}
	path := linkPath(t, m["url"])
	b := e.browser()
	if code, page := b.get(path); code != 200 || !strings.Contains(page, "ana@example.com") || !strings.Contains(page, "east") {
		t.Fatalf("link page: %d\n%s", code, page)
	}
	// A bad password keeps the link usable.
	if code, page := b.post(path, url.Values{"password": {"short"}, "again": {"short"}}, ""); code != 400 || !strings.Contains(page, "the link still works") {
		t.Fatalf("short password: %d\n%s", code, page)
	}
	if code, page := b.post(path, url.Values{"password": {"correct4horse"}, "again": {"correct4horse"}}, ""); code != 200 || !strings.Contains(page, "Welcome") {
		t.Fatalf("set password: %d\n%s", code, page)
	}
	// Reuse is refused.
	if code, page := b.post(path, url.Values{"password": {"other4horse"}, "again": {"other4horse"}}, ""); code != 404 || !strings.Contains(page, "used already") {
		t.Fatalf("reused link: %d\n%s", code, page)
	}
	if code, _ := b.get(path); code != 404 {
		t.Fatalf("reused link's page: %d", code)
	}
	// The new admin signs in and is held to the group east.
	if code, page := b.login("ana@example.com", "correct4horse"); code != 200 || !strings.Contains(page, "admin of east") {
		t.Fatalf("new admin signs in: %d\n%s", code, page)
	}
	if code, page := b.get("/admin/tokens"); code != 403 || !strings.Contains(page, "account-wide") {
		t.Errorf("group admin on tokens: %d", code)
	}
	// Inviting an administrator who exists is refused.
	if code, m := invite(t, e, `{"email":"ana@example.com","role":"viewer"}`); code != 409 {
		t.Errorf("invite an existing admin: %d %v", code, m)
	}
	// An invitation expires after 3 days.
	_, m = invite(t, e, `{"email":"late@example.com","role":"viewer"}`)
	path = linkPath(t, m["url"])
	e.clock.Advance(inviteLifetime)
	if code, page := b.post(path, url.Values{"password": {"correct4horse"}, "again": {"correct4horse"}}, ""); code != 410 ||
		!strings.Contains(page, "This link expired on 2026-11-05 09:00 UTC") {
		t.Fatalf("expired link: %d\n%s", code, page)
	}
	// Every step is in the audit log.
	entries, _ := e.srv.auditLog(100)
	var actions []string
	for _, a := range entries {
		actions = append(actions, a.Action)
	}
	for _, want := range []string{"invite admin", "join as admin"} {
		if !strings.Contains(strings.Join(actions, "|"), want) {
			t.Errorf("audit log lacks %q: %v", want, actions)
		}
	}
}

// TestLastOwner: the last owner can be neither removed nor demoted.
func TestLastOwner(t *testing.T) {
	e := newEnv(t)
	ownerToken(t, e)
	if err := e.srv.CreateAdmin("boss@example.com", "correct4horse"); err != nil { // owner: made on the command line
		t.Fatal(err)
	}
	id, _ := e.srv.adminID("boss@example.com")
	p := "/api/v1/admin/admins/" + itoa(id)
	for _, tc := range []struct{ method, path, body string }{
		{"DELETE", p, ""},
		{"PUT", p + "/role", `{"role":"admin"}`},
	} {
		code, _, b := e.admin(tc.method, tc.path, tc.body)
		if want := "boss@example.com is the account's last owner: make another administrator an owner first."; code != 409 || errCode(t, b) != want {
			t.Errorf("%s %s: %d %s, want 409 %q", tc.method, tc.path, code, b, want)
		}
	}
	// With a second owner, the first may go.
	if err := e.srv.CreateAdmin("deputy@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	if code, _, b := e.admin("PUT", p+"/role", `{"role":"viewer","groups":["east"]}`); code != 200 || !strings.Contains(string(b), `"role":"viewer"`) {
		t.Fatalf("demote with a second owner: %d %s", code, b)
	}
	if code, _, b := e.admin("DELETE", p, ""); code != 204 {
		t.Fatalf("remove with a second owner: %d %s", code, b)
	}
	if code, _, _ := e.admin("DELETE", p, ""); code != 404 {
		t.Errorf("remove again: %d", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestRevokeAndReset: an owner signs another admin out everywhere, and
// resets their password: the old one stops working and a one-time link
// sets a new one.
func TestRevokeAndReset(t *testing.T) {
	e := newEnv(t)
	ownerToken(t, e)
	if err := e.srv.CreateAdmin("bo@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	id, _ := e.srv.adminID("bo@example.com")
	b1, b2 := e.browser(), e.browser()
	b1.login("bo@example.com", "correct4horse")
	b2.login("bo@example.com", "correct4horse")
	if code, _ := b1.get("/admin/rooms"); code != 200 {
		t.Fatalf("signed in: %d", code)
	}
	code, _, body := e.admin("POST", "/api/v1/admin/admins/"+itoa(id)+"/revoke-sessions", nil)
	if code != 200 || !strings.Contains(string(body), `"ended":2`) {
		t.Fatalf("revoke sessions: %d %s", code, body)
	}
	for _, b := range []*browser{b1, b2} {
		if _, page := b.get("/admin/rooms"); !strings.Contains(page, `id="signin"`) {
			t.Errorf("a revoked session still sees the rooms")
		}
	}

	b1.login("bo@example.com", "correct4horse")
	code, _, body = e.admin("POST", "/api/v1/admin/admins/"+itoa(id)+"/password-reset", nil)
	var m map[string]any
	json.Unmarshal(body, &m)
	if code != 201 {
		t.Fatalf("reset: %d %s", code, body)
	}
	if _, page := b1.get("/admin/rooms"); !strings.Contains(page, `id="signin"`) {
		t.Errorf("a reset left the session signed in")
	}
	if code, _ := b2.login("bo@example.com", "correct4horse"); code != 401 {
		t.Errorf("old password after a reset: %d", code)
	}
	path := linkPath(t, m["url"])
	if code, page := b2.post(path, url.Values{"password": {"fresh4start"}, "again": {"fresh4start"}}, ""); code != 200 || !strings.Contains(page, "new password works") {
		t.Fatalf("reset link: %d\n%s", code, page)
	}
	if code, _ := b2.login("bo@example.com", "fresh4start"); code != 200 {
		t.Errorf("new password: %d", code)
	}
}

// TestScopedTokenExpiry: a group viewer token is refused with a 401
// sentence once it expired, like any token.
func TestScopedTokenExpiry(t *testing.T) {
	e := newEnv(t)
	tok, _, err := e.srv.CreateAPITokenWith("wallboard", TokenOptions{Role: RoleViewer, Group: "east", Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.token = tok
	if code, _, b := e.admin("GET", "/api/v1/admin/rooms", nil); code != 200 {
		t.Fatalf("fresh: %d %s", code, b)
	}
	e.clock.Advance(time.Hour)
	code, _, b := e.admin("GET", "/api/v1/admin/rooms", nil)
	if want := `The admin API token "wallboard" expired on 2026-11-02 10:00 UTC.`; code != 401 || !strings.Contains(errCode(t, b), want) {
		t.Errorf("expired: %d %s, want 401 saying %q", code, b, want)
	}
	if _, _, err := e.srv.CreateAPITokenWith("x", TokenOptions{Role: RoleOwner, Group: "east"}); err == nil {
		t.Errorf("an owner token with a group was made")
	}
}

// TestRoomGroup: PUT …/group moves a room; a group admin only between
// their groups; the audit log has it, and the room's policy follows.
func TestRoomGroup(t *testing.T) {
	e := newEnv(t)
	roomID, _ := e.pairKit(e.newKit(), "Boardroom")
	for _, tc := range []struct {
		body, want string
		code       int
	}{
		{`{"group":"east"}`, `"group":"east"`, 200},
		{`{}`, `send {\"group\": \"NAME\"}`, 400},
		{`{"group":"a,b"}`, "without commas", 400},
	} {
		code, _, b := e.admin("PUT", "/api/v1/admin/rooms/"+roomID+"/group", tc.body)
		if code != tc.code || !strings.Contains(string(b), tc.want) {
			t.Errorf("PUT group %s: %d %s", tc.body, code, b)
		}
	}
	if code, _, _ := e.admin("PUT", "/api/v1/admin/rooms/nope/group", `{"group":"east"}`); code != 404 {
		t.Errorf("unknown room: %d", code)
	}
	if meta, _ := e.srv.roomMeta(roomID); meta.group != "east" {
		t.Errorf("the update policy still sees the group %q", meta.group)
	}
	tok, _, _ := e.srv.CreateAPITokenWith("east admin", TokenOptions{Role: RoleAdmin, Group: "east"})
	e.token = tok
	code, _, b := e.admin("PUT", "/api/v1/admin/rooms/"+roomID+"/group", `{"group":"west"}`)
	if code != 403 || !strings.Contains(errCode(t, b), "you may move rooms only into the groups east") {
		t.Errorf("group admin moves a room out: %d %s", code, b)
	}
	// The audit log is account-wide: not for a group admin.
	if code, _, b := e.admin("GET", "/api/v1/admin/audit", nil); code != 403 {
		t.Errorf("audit as group admin: %d %s", code, b)
	}
}

// TestAuditExport: the log filters by actor, action, room and time, and
// exports what it selects as CSV, formulas defused.
func TestAuditExport(t *testing.T) {
	e := newEnv(t)
	roomID, _ := e.pairKit(e.newKit(), "Boardroom") // "pair" by token "tests" at 09:00
	e.clock.Advance(time.Hour)
	e.admin("PUT", "/api/v1/admin/rooms/"+roomID+"/group", `{"group":"east"}`) // 10:00
	e.clock.Advance(time.Hour)
	b := e.browser()
	b.login("=HYPERLINK(\"http://evil\")", "wrong4pass") // failed login at 11:00, an attacker's "email"

	csvOf := func(query string) [][]string {
		t.Helper()
		code, hdr, body := e.admin("GET", "/api/v1/admin/audit?format=csv&"+query, nil)
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") {
			t.Fatalf("csv %s: %d %v %s", query, code, hdr, body)
		}
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil {
			t.Fatalf("csv %s: %v\n%s", query, err, body)
		}
		if strings.Join(rows[0], ",") != "time,actor,action,room,detail,address" {
			t.Fatalf("csv header %v", rows[0])
		}
		return rows[1:]
	}
	all := csvOf("")
	if len(all) != 3 {
		t.Fatalf("all: %v", all)
	}
	if r := all[0]; r[2] != "failed login" || r[1] != `'=HYPERLINK("http://evil")` || r[0] != "2026-11-02T11:00:00Z" {
		t.Errorf("newest line %q: want the failed login with its formula defused", r)
	}
	if r := all[1]; r[2] != "set group" || r[3] != roomID || r[1] != `token "tests"` || !strings.Contains(r[4], `from "" to "east"`) {
		t.Errorf("group line %q", r)
	}
	for _, tc := range []struct {
		query string
		want  []string // actions
	}{
		{"action=pair", []string{"pair"}},
		{"actor=TESTS", []string{"set group", "pair"}},
		{"room=" + roomID, []string{"set group", "pair"}}, // pair names the room in its detail only
		{"from=2026-11-02T10:00&to=2026-11-02T10:59", []string{"set group"}},
		{"from=2026-11-02T10:30:00Z", []string{"failed login"}},
		{"to=2026-11-01", nil},
	} {
		var got []string
		for _, r := range csvOf(tc.query) {
			got = append(got, r[2])
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %q, want %q", tc.query, got, tc.want)
		}
	}
	// JSON answers the same filter; bad filters are refused in words.
	code, _, body := e.admin("GET", "/api/v1/admin/audit?action=set+group", nil)
	var entries []auditEntry
	if json.Unmarshal(body, &entries); code != 200 || len(entries) != 1 || entries[0].Room != roomID {
		t.Errorf("json: %d %s", code, body)
	}
	for _, q := range []string{"from=yesterday", "from=2026-11-03&to=2026-11-02", "format=xml", "limit=0"} {
		if code, _, body := e.admin("GET", "/api/v1/admin/audit?"+q, nil); code != 400 || errCode(t, body) == "" {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	// The admin center's page filters and links the export.
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	b.login("it@example.com", "correct4horse")
	code, page := b.get("/admin/audit?action=pair")
	if code != 200 || !strings.Contains(page, `href="/admin/audit?action=pair&amp;format=csv"`) || strings.Contains(page, "set group</td>") {
		t.Errorf("audit page: %d\n%s", code, page)
	}
	if code, page := b.get("/admin/audit?action=pair&format=csv"); code != 200 || !strings.HasPrefix(page, "time,actor,action") || strings.Count(page, "\n") != 2 {
		t.Errorf("audit page export: %d\n%s", code, page)
	}
}

// TestTeamChangesAudited: each change of the team's powers is in the
// audit log, with who made it.
func TestTeamChangesAudited(t *testing.T) {
	e := newEnv(t)
	ownerToken(t, e)
	roomID, _ := e.pairKit(e.newKit(), "Boardroom")
	e.admin("PUT", "/api/v1/admin/rooms/"+roomID+"/group", `{"group":"east"}`)
	_, m := invite(t, e, `{"email":"ana@example.com","role":"viewer"}`)
	e.browser().post(linkPath(t, m["url"]), url.Values{"password": {"correct4horse"}, "again": {"correct4horse"}}, "")
	id, _ := e.srv.adminID("ana@example.com")
	p := "/api/v1/admin/admins/" + itoa(id)
	e.admin("PUT", p+"/role", `{"role":"admin","groups":["east"]}`)
	e.admin("POST", p+"/revoke-sessions", nil)
	_, _, body := e.admin("POST", p+"/password-reset", nil)
	json.Unmarshal(body, &m)
	e.browser().post(linkPath(t, m["url"]), url.Values{"password": {"fresh4start"}, "again": {"fresh4start"}}, "")
	if code, _, b := e.admin("DELETE", p, nil); code != 204 {
		t.Fatalf("remove: %d %s", code, b)
	}
	if _, _, err := e.srv.CreateAPITokenWith("backup", TokenOptions{Role: RoleViewer, Group: "east", Actor: "command line"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // action → actor
		"set group":           `token "owner script"`,
		"invite admin":        `token "owner script"`,
		"join as admin":       "ana@example.com",
		"change role":         `token "owner script"`,
		"sign out everywhere": `token "owner script"`,
		"reset password":      `token "owner script"`,
		"set password":        "ana@example.com",
		"remove admin":        `token "owner script"`,
		"create token":        "command line",
	}
	entries, err := e.srv.auditLog(100)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range entries {
		if actor, ok := want[a.Action]; ok && a.Actor == actor {
			delete(want, a.Action)
		}
	}
	if len(want) > 0 {
		t.Errorf("not in the audit log: %v\n%+v", want, entries)
	}
}

var linkInPage = regexp.MustCompile(`<pre id="link">([^<]+)</pre>`)

// TestTeamPageForms: the owner's forms on the team page and the rooms
// page's group form, each behind the session's CSRF token.
func TestTeamPageForms(t *testing.T) {
	e := newEnv(t)
	roomID, _ := e.pairKit(e.newKit(), "Boardroom")
	if err := e.srv.CreateAdmin("owner@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("owner@example.com", "correct4horse")
	_, page := b.get("/admin/team")
	csrf := csrfOf(t, page)
	if code, _ := b.post("/admin/team/invite", url.Values{"email": {"x@example.com"}, "role": {"admin"}}, e.ts.URL); code != 403 {
		t.Errorf("invite without the CSRF token: %d", code)
	}
	code, page := b.post("/admin/team/invite", url.Values{"csrf": {csrf}, "email": {"ana@example.com"}, "role": {"viewer"}, "groups": {"east, west"}}, e.ts.URL)
	m := linkInPage.FindStringSubmatch(page)
	if code != 200 || m == nil {
		t.Fatalf("invite: %d\n%s", code, page)
	}
	if code, page := b.post("/admin/team/invite", url.Values{"csrf": {csrf}, "email": {"bo@example.com"}, "role": {"owner"}, "groups": {"east"}}, e.ts.URL); code != 400 ||
		!strings.Contains(page, "An owner manages the whole account") || !strings.Contains(page, `value="bo@example.com"`) {
		t.Errorf("owner with groups: %d", code)
	}
	ana := e.browser()
	ana.post(linkPath(t, m[1]), url.Values{"password": {"correct4horse"}, "again": {"correct4horse"}}, "")
	ana.login("ana@example.com", "correct4horse")
	id, _ := e.srv.adminID("ana@example.com")
	p := "/admin/team/" + itoa(id)

	if code, page := b.post(p+"/role", url.Values{"csrf": {csrf}, "role": {"admin"}, "groups": {"east"}}, e.ts.URL); code != 200 || !strings.Contains(page, "The role was changed") {
		t.Errorf("role: %d\n%s", code, page)
	}
	if code, page := b.post(p+"/revoke-sessions", url.Values{"csrf": {csrf}}, e.ts.URL); code != 200 || !strings.Contains(page, "signed out everywhere") {
		t.Errorf("revoke sessions: %d\n%s", code, page)
	}
	if _, page := ana.get("/admin/rooms"); !strings.Contains(page, `id="signin"`) {
		t.Errorf("ana is still signed in")
	}
	code, page = b.post(p+"/reset", url.Values{"csrf": {csrf}}, e.ts.URL)
	if code != 200 || !linkInPage.MatchString(page) || !strings.Contains(page, "password reset pending") {
		t.Errorf("reset: %d\n%s", code, page)
	}
	if code, page := b.post(p+"/remove", url.Values{"csrf": {csrf}}, e.ts.URL); code != 200 || !strings.Contains(page, "was removed") || strings.Contains(page, "ana@example.com") {
		t.Errorf("remove: %d\n%s", code, page)
	}
	// The owner's own row: removing the last owner is refused in words.
	owner, _ := e.srv.adminID("owner@example.com")
	if code, page := b.post("/admin/team/"+itoa(owner)+"/remove", url.Values{"csrf": {csrf}}, e.ts.URL); code != 409 || !strings.Contains(page, "last owner") {
		t.Errorf("remove the last owner: %d", code)
	}

	// The rooms page sets a room's group.
	if code, page := b.post("/admin/rooms/"+roomID+"/group", url.Values{"csrf": {csrf}, "group": {"east"}}, e.ts.URL); code != 200 ||
		!strings.Contains(page, `&#34;Boardroom&#34; is in the group &#34;east&#34; now`) {
		t.Errorf("group form: %d\n%s", code, page)
	}
	if code, page := b.post("/admin/rooms/"+roomID+"/group", url.Values{"csrf": {csrf}, "group": {"a\u202eb"}}, e.ts.URL); code != 400 || !strings.Contains(page, "one line of 1 to 64 characters") {
		t.Errorf("bad group: %d\n%s", code, page)
	}
	// The audit page filters by room and links the export.
	code, page = b.get("/admin/audit?room=" + roomID)
	if code != 200 || !strings.Contains(page, "set group</td>") || strings.Contains(page, "invite admin</td>") || !strings.Contains(page, "Export CSV") {
		t.Errorf("audit by room: %d\n%s", code, page)
	}
	if code, page := b.get("/admin/audit?from=soon"); code != 400 || !strings.Contains(page, `&#34;soon&#34; is not a time`) {
		t.Errorf("bad filter: %d", code)
	}
}

// TestMigrationRoles opens a database from before roles (with an admin,
// their session and an API token): the admin is an owner, the token keeps
// its full power (admin of the whole account), the session still works.
func TestMigrationRoles(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	db := oldDatabase(t, dir, migrationWith(t, "CREATE TABLE admin_invites"))
	tok := apiTokenPrefix + "old-token"
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO admins (id, email, pw_hash, created) VALUES (1, 'old@example.com', 'x', 1)", nil},
		{"INSERT INTO sessions (hash, admin_id, csrf, expires) VALUES (?, 1, 'c', 4102444800)", []any{hashSecret("old-session")}},
		{"INSERT INTO api_tokens (name, hash, created, expires) VALUES ('old script', ?, 1, 0)", []any{hashSecret(tok)}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	db.Close()

	e := newEnvIn(t, dir, &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)})
	members, _, err := e.srv.listTeam()
	if err != nil || len(members) != 1 || members[0].Role != RoleOwner || len(members[0].Groups) != 0 {
		t.Fatalf("admins after the migration: %+v %v", members, err)
	}
	e.token = tok
	toks, _ := e.srv.listAPITokens()
	for _, tk := range toks {
		if tk.Name == "old script" && (tk.Role != RoleAdmin || len(tk.Groups) != 0) {
			t.Errorf("old token: %+v", tk)
		}
	}
	if code, _, b := e.admin("PUT", "/api/v1/admin/update-policy/fleet", `{"channel":"beta"}`); code != 200 {
		t.Errorf("old token changes the fleet policy: %d %s", code, b)
	}
	if code, _, _ := e.admin("POST", "/api/v1/admin/admins/invites", `{"email":"x@example.com","role":"viewer"}`); code != 403 {
		t.Errorf("old token invites: %d, want 403 (owners only)", code)
	}
	code, _, body := e.do("GET", "/admin/team", "", nil, map[string]string{"Cookie": sessionCookie + "=old-session"})
	if code != 200 || !strings.Contains(string(body), "old@example.com · owner") {
		t.Errorf("old session on the team page: %d\n%s", code, body)
	}
}
