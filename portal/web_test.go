package portal

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a cookie-keeping client for the admin center.
type browser struct {
	t *testing.T
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: e.client.Transport}
	return &browser{t: e.t, e: e, c: c}
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.e.ts.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, v url.Values, origin string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.ts.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in page:\n%s", page)
	}
	return m[1]
}

func (b *browser) login(email, password string) (int, string) {
	b.t.Helper()
	_, page := b.get("/admin/login")
	return b.post("/admin/login", url.Values{"csrf": {csrfOf(b.t, page)}, "email": {email}, "password": {password}, "next": {"/admin/rooms"}}, b.e.ts.URL)
}

func TestAdminCenter(t *testing.T) {
	e := newEnv(t)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()

	// Signed out: pages send you to the login page, keeping where you were going.
	if code, page := b.get("/admin/pair?code=BCDFGHJK"); code != 200 || !strings.Contains(page, "Sign in") ||
		!strings.Contains(page, `value="/admin/pair?code=BCDFGHJK"`) {
		t.Fatalf("signed out: %d\n%s", code, page)
	}
	for _, tc := range []struct {
		name, email, password string
		code                  int
		want                  string
	}{
		{"wrong password", "it@example.com", "wrong1password", 401, "Wrong email or password."},
		{"unknown email", "nobody@example.com", "correct4horse", 401, "Wrong email or password."},
		{"right password", "it@example.com", "correct4horse", 200, "No rooms yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, page := b.login(tc.email, tc.password)
			if code != tc.code || !strings.Contains(page, tc.want) {
				t.Fatalf("%d, want %d with %q:\n%s", code, tc.code, tc.want, page)
			}
		})
	}

	// Signed in. CSRF: a POST without the token, or from another site, is refused.
	// (A code nobody waits with keeps what was typed, tidied, for another try.)
	_, page := b.get("/admin/pair?code=bcdf-ghjk")
	if !strings.Contains(page, `value="BCDF-GHJK"`) || !strings.Contains(page, "No room is waiting with the code BCDF-GHJK") {
		t.Errorf("pair page does not keep the code from ?code=:\n%s", page)
	}
	csrf := csrfOf(t, page)
	if code, _ := b.post("/admin/pair", url.Values{"user_code": {"BCDF-GHJK"}, "name": {"X"}}, ""); code != 403 {
		t.Errorf("POST without CSRF token: %d, want 403", code)
	}
	if code, _ := b.post("/admin/pair", url.Values{"csrf": {"forged"}, "user_code": {"BCDF-GHJK"}, "name": {"X"}}, ""); code != 403 {
		t.Errorf("POST with a wrong CSRF token: %d, want 403", code)
	}
	if code, _ := b.post("/admin/pair", url.Values{"csrf": {csrf}, "user_code": {"BCDF-GHJK"}, "name": {"X"}}, "http://evil.example"); code != 403 {
		t.Errorf("POST from another origin: %d, want 403", code)
	}

	// Pair through the form.
	k := e.newKit()
	da := k.authorize()
	code, page := b.post("/admin/pair", url.Values{"csrf": {csrf}, "user_code": {da.UserCode}, "name": {"Boardroom"},
		"location": {"3rd floor"}, "time_zone": {"Europe/Zurich"}}, e.ts.URL)
	if code != 200 || !strings.Contains(page, `Paired &#34;Boardroom&#34;`) || !strings.Contains(page, "3rd floor") {
		t.Fatalf("pair form: %d\n%s", code, page)
	}
	// A wrong code gets the plain-words message.
	code, page = b.post("/admin/pair", url.Values{"csrf": {csrf}, "user_code": {"ZZZZ-ZZZZ"}, "name": {"X"}}, e.ts.URL)
	if code != 404 || !strings.Contains(page, "No room is waiting with the code ZZZZ-ZZZZ") {
		t.Errorf("wrong code: %d\n%s", code, page)
	}
	// The kit collects its token and reports in: the list shows it online.
	if st, m := k.poll(da.DeviceCode); st != 200 {
		t.Fatalf("poll: %d %v", st, m)
	}
	rooms := listRoomsAPI(t, e)
	_, page = b.get("/admin/rooms")
	if !strings.Contains(page, "Offline") || !strings.Contains(page, "never") || !strings.Contains(page, `http-equiv="refresh"`) {
		t.Errorf("rooms before heartbeat:\n%s", page)
	}

	// Unpair with a confirm step.
	code, page = b.get("/admin/rooms/" + rooms[0].ID + "/unpair")
	if code != 200 || !strings.Contains(page, "Unpair Boardroom?") {
		t.Fatalf("confirm page: %d\n%s", code, page)
	}
	code, page = b.post("/admin/rooms/"+rooms[0].ID+"/unpair", url.Values{"csrf": {csrfOf(t, page)}}, e.ts.URL)
	if code != 200 || !strings.Contains(page, "The room was unpaired") || strings.Contains(page, "Boardroom") {
		t.Fatalf("after unpair: %d\n%s", code, page)
	}

	// Tokens: created shown once, then revoked.
	code, page = b.post("/admin/tokens", url.Values{"csrf": {csrf}, "name": {"inventory"}}, e.ts.URL)
	m := regexp.MustCompile(`<pre id="new-token">(rka_[^<]+)</pre>`).FindStringSubmatch(page)
	if code != 200 || m == nil {
		t.Fatalf("token create: %d\n%s", code, page)
	}
	e.token = m[1]
	if code, _, _ := e.admin("GET", "/api/v1/admin/rooms", nil); code != 200 {
		t.Fatalf("new token refused: %d", code)
	}
	_, page = b.get("/admin/tokens")
	if strings.Contains(page, m[1]) {
		t.Errorf("the token is shown again on the tokens page")
	}
	revoke := regexp.MustCompile(`action="(/admin/tokens/\d+/revoke)"`).FindAllStringSubmatch(page, -1)
	b.post(revoke[len(revoke)-1][1], url.Values{"csrf": {csrf}}, e.ts.URL)
	if code, _, _ := e.admin("GET", "/api/v1/admin/rooms", nil); code != 401 {
		t.Errorf("revoked token: %d, want 401", code)
	}

	// The audit log tells who did what.
	_, page = b.get("/admin/audit")
	for _, want := range []string{"failed login", "login", "pair", "wrong code", "unpair", "create token", "revoke token", "it@example.com"} {
		if !strings.Contains(page, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}

	// Logout ends the session.
	b.post("/admin/logout", url.Values{"csrf": {csrf}}, e.ts.URL)
	if _, page := b.get("/admin/rooms"); !strings.Contains(page, "Sign in") {
		t.Errorf("still signed in after logout")
	}
}

func TestLoginLockout(t *testing.T) {
	e := newEnv(t)
	e.srv.CreateAdmin("it@example.com", "correct4horse")
	b := e.browser()
	for range 5 {
		b.login("it@example.com", "wrong1pass")
	}
	code, page := b.login("it@example.com", "correct4horse")
	if code != 429 || !strings.Contains(page, "Too many failed sign-ins") {
		t.Fatalf("6th sign-in: %d\n%s", code, page)
	}
}

func TestLoginCSRF(t *testing.T) {
	e := newEnv(t)
	e.srv.CreateAdmin("it@example.com", "correct4horse")
	b := e.browser()
	code, _ := b.post("/admin/login", url.Values{"email": {"it@example.com"}, "password": {"correct4horse"}}, "")
	if code != 403 {
		t.Fatalf("login without the form's token: %d, want 403", code)
	}
}

func TestPasswordRule(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"", false},
		{"abc123", false},
		{"abcdefgh", false},
		{"12345678", false},
		{"abcdefg1", true},
		{"Zürich2026", true},
		{"pass word 9", true},
	} {
		err := checkPassword(tc.pw)
		if (err == nil) != tc.ok {
			t.Errorf("checkPassword(%q) = %v, want ok=%v", tc.pw, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "at least 8 characters, with both letters and digits") {
			t.Errorf("message %q is not the rule in plain words", err)
		}
	}
	h := hashPassword("abcdefg1")
	if !verifyPassword(h, "abcdefg1") || verifyPassword(h, "abcdefg2") || verifyPassword("garbage", "abcdefg1") {
		t.Errorf("verifyPassword does not tell right from wrong")
	}
	if h == hashPassword("abcdefg1") {
		t.Errorf("two hashes of one password are equal: no per-user salt")
	}
	e := newEnv(t)
	if err := e.srv.CreateAdmin("a@example.com", "short1"); err == nil {
		t.Errorf("CreateAdmin accepted a short password")
	}
}

func TestBootstrapAdmin(t *testing.T) {
	e := newEnv(t)
	pw, err := e.srv.BootstrapAdmin()
	if err != nil || checkPassword(pw) != nil {
		t.Fatalf("BootstrapAdmin: %q %v", pw, err)
	}
	if code, _ := e.browser().login(BootstrapAdminEmail, pw); code != 200 {
		t.Errorf("bootstrap credentials do not sign in: %d", code)
	}
	if pw2, err := e.srv.BootstrapAdmin(); pw2 != "" || err != nil {
		t.Errorf("second BootstrapAdmin: %q %v, want nothing", pw2, err)
	}
}
