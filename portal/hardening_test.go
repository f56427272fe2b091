package portal

// Tests for the low-severity items of the security audit (issue 11):
// metrics behind a token, expiring API tokens, admin sessions, the
// pairing confirmation step, a full disk and the static folder.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roomkit/provisioning"
)

func TestMetricsNeedToken(t *testing.T) {
	e := newEnv(t)
	expired, _, err := e.srv.CreateAPITokenWith("old scraper", TokenOptions{Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	for _, tc := range []struct {
		name string
		auth string
		code int
		want string // in the body
	}{
		{"no token", "", 401, "needs an admin API token"},
		{"unknown token", "Bearer rka_nope", 401, "unknown or was revoked"},
		{"expired token", "Bearer " + expired, 401, "expired on"},
		{"admin token", "Bearer " + e.token, 200, "portal_rooms_total"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			code, _, b := e.do("GET", "/metrics", "", nil, hdr)
			if code != tc.code || !strings.Contains(string(b), tc.want) {
				t.Errorf("GET /metrics: %d %s, want %d with %q", code, b, tc.code, tc.want)
			}
			if code != 200 && strings.Contains(string(b), "portal_") {
				t.Errorf("a refused scrape still shows metrics: %s", b)
			}
		})
	}

	// The separate listener (portal -metrics-listen) serves them openly,
	// and nothing else.
	ms := httptest.NewServer(e.srv.MetricsHandler())
	defer ms.Close()
	for _, tc := range []struct {
		path string
		code int
	}{{"/metrics", 200}, {"/admin/login", 404}, {"/api/v1/admin/rooms", 404}} {
		resp, err := http.Get(ms.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("metrics listener GET %s: %d, want %d", tc.path, resp.StatusCode, tc.code)
		}
	}
}

func TestAPITokenExpiry(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name    string
		life    time.Duration
		wantErr string
		want    time.Duration // lifetime the token gets
	}{
		{"default", 0, "", DefaultTokenLifetime},
		{"a week", 7 * 24 * time.Hour, "", 7 * 24 * time.Hour},
		{"too short", time.Second, "between 1 minute and 730 days", 0},
		{"too long", 3 * 365 * 24 * time.Hour, "between 1 minute and 730 days", 0},
		{"negative", -time.Hour, "between 1 minute and 730 days", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, exp, err := e.srv.CreateAPITokenWith("script", TokenOptions{Lifetime: tc.life})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("lifetime %v: %v, want an error saying %q", tc.life, err, tc.wantErr)
				}
				return
			}
			if err != nil || !exp.Equal(e.clock.Now().Add(tc.want)) || !strings.HasPrefix(tok, apiTokenPrefix) {
				t.Fatalf("lifetime %v: %q expires %v, %v; want it to expire %v", tc.life, tok, exp, err, e.clock.Now().Add(tc.want))
			}
		})
	}

	// A token works until its expiry, then gets a 401 that says why.
	tok, _, err := e.srv.CreateAPITokenWith("inventory", TokenOptions{Lifetime: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.token = tok
	if code, _, b := e.admin("GET", "/api/v1/admin/rooms", nil); code != 200 {
		t.Fatalf("fresh token: %d %s", code, b)
	}
	e.clock.Advance(24 * time.Hour)
	code, hdr, b := e.admin("GET", "/api/v1/admin/rooms", nil)
	if want := `The admin API token "inventory" expired on 2026-11-03 09:00 UTC.`; code != 401 || !strings.Contains(errCode(t, b), want) ||
		!strings.Contains(hdr.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("expired token: %d %s %q, want 401 saying %q", code, b, hdr.Get("WWW-Authenticate"), want)
	}

	// The admin center makes tokens with a lifetime and lists expiries.
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	br := e.browser()
	br.login("it@example.com", "correct4horse")
	_, page := br.get("/admin/tokens")
	csrf := csrfOf(t, page)
	code, page = br.post("/admin/tokens", url.Values{"csrf": {csrf}, "name": {"backup"}, "expires_days": {"30"}}, e.ts.URL)
	if code != 200 || !strings.Contains(page, "it works until <strong>2026-12-03 09:00:00 UTC</strong>") {
		t.Errorf("token made in the admin center: %d\n%s", code, page)
	}
	for _, want := range []string{"expired 2026-11-03 09:00:00 UTC", "2026-12-03 09:00:00 UTC"} {
		if !strings.Contains(page, want) {
			t.Errorf("token list lacks %q:\n%s", want, page)
		}
	}
	if code, page := br.post("/admin/tokens", url.Values{"csrf": {csrf}, "name": {"x"}, "expires_days": {"forever"}}, e.ts.URL); code != 400 ||
		!strings.Contains(page, `&#34;forever&#34; is not a number of days`) {
		t.Errorf("bad lifetime: %d\n%s", code, page)
	}
}

func TestAdminSessions(t *testing.T) {
	e := newEnv(t)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	signedIn := func(b *browser) bool {
		_, page := b.get("/admin/rooms")
		return !strings.Contains(page, "Sign in")
	}
	laptop, phone := e.browser(), e.browser()
	laptop.login("it@example.com", "correct4horse")
	phone.login("it@example.com", "correct4horse")

	// Changing the password in the admin center keeps this session and
	// ends the other one.
	_, page := laptop.get("/admin/account")
	csrf := csrfOf(t, page)
	for _, tc := range []struct {
		name                string
		current, new, again string
		code                int
		want                string
	}{
		{"wrong current", "wrong1horse", "battery9staple", "battery9staple", 403, "current password is not right"},
		{"mismatch", "correct4horse", "battery9staple", "battery9stapel", 400, "two new passwords differ"},
		{"too weak", "correct4horse", "short", "short", 400, "at least 8 characters"},
		{"changed", "correct4horse", "battery9staple", "battery9staple", 200, "Your password was changed"},
	} {
		code, page := laptop.post("/admin/account/password", url.Values{"csrf": {csrf}, "current": {tc.current}, "new": {tc.new}, "again": {tc.again}}, e.ts.URL)
		if code != tc.code || !strings.Contains(page, tc.want) {
			t.Errorf("%s: %d, want %d with %q\n%s", tc.name, code, tc.code, tc.want, page)
		}
		if strings.Contains(page, tc.new) || strings.Contains(page, tc.current) {
			t.Errorf("%s: the answer repeats a password", tc.name)
		}
	}
	if !signedIn(laptop) || signedIn(phone) {
		t.Errorf("after a password change: laptop signed in %v (want true), phone %v (want false)", signedIn(laptop), signedIn(phone))
	}
	if code, _ := e.browser().login("it@example.com", "correct4horse"); code != 401 {
		t.Errorf("the old password still signs in: %d", code)
	}

	// Sign out everywhere ends this session too.
	phone.login("it@example.com", "battery9staple")
	code, page := laptop.post("/admin/account/sign-out-everywhere", url.Values{"csrf": {csrf}}, e.ts.URL)
	if code != 200 || !strings.Contains(page, "Sign in") || signedIn(laptop) || signedIn(phone) {
		t.Errorf("sign out everywhere: %d, laptop %v phone %v\n%s", code, signedIn(laptop), signedIn(phone), page)
	}

	// From the command line: revoke-sessions and passwd end every session.
	for _, tc := range []struct {
		name string
		do   func() (int, error)
		want int
	}{
		{"revoke sessions", func() (int, error) { return e.srv.RevokeSessions("IT@example.com") }, 2},
		{"passwd", func() (int, error) { return e.srv.SetAdminPassword("it@example.com", "third3time") }, 2},
	} {
		laptop.login("it@example.com", "battery9staple")
		phone.login("it@example.com", "battery9staple")
		n, err := tc.do()
		if err != nil || signedIn(laptop) || signedIn(phone) {
			t.Errorf("%s: %d, %v; laptop %v phone %v still signed in", tc.name, n, err, signedIn(laptop), signedIn(phone))
		}
	}
	if code, _ := e.browser().login("it@example.com", "third3time"); code != 200 {
		t.Errorf("the password set from the command line does not sign in: %d", code)
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"unknown admin", func() error { _, err := e.srv.RevokeSessions("nobody@example.com"); return err }(), "no such administrator: nobody@example.com"},
		{"unknown admin passwd", func() error { _, err := e.srv.SetAdminPassword("nobody@example.com", "third3time"); return err }(), "no such administrator"},
		{"weak password", func() error { _, err := e.srv.SetAdminPassword("it@example.com", "weak"); return err }(), "at least 8 characters"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, tc.err, tc.want)
		}
	}
}

func TestPairingConfirmation(t *testing.T) {
	e := newEnv(t)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("it@example.com", "correct4horse")
	k := e.newKit()
	asked := e.clock.Now()
	da := k.authorize()
	e.clock.Advance(3 * time.Minute)

	// Arriving with the code (typed or from the kit's QR code), the admin
	// sees which device waits with it before anything is paired.
	typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
	code, page := b.get("/admin/pair?code=" + typed)
	if code != 200 {
		t.Fatalf("confirmation step: %d\n%s", code, page)
	}
	for _, want := range []string{
		`<dd id="device-label">kit-under-test</dd>`,
		`<dd id="device-addr">127.0.0.1</dd>`,
		`<dd id="device-asked">` + asked.UTC().Format("2006-01-02 15:04:05 UTC") + ` (3 minutes ago)</dd>`,
		`id="user_code" value="` + da.UserCode + `" readonly`,
		`id="pair"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("confirmation step lacks %q:\n%s", want, page)
		}
	}
	if rooms := listRoomsAPI(t, e); len(rooms) != 0 {
		t.Errorf("looking at the code paired it: %+v", rooms)
	}

	// A label with markup is shown as text, and a kit that sent none says so.
	for _, tc := range []struct{ label, want string }{
		{`<b>lobby</b>`, `<dd id="device-label">&lt;b&gt;lobby&lt;/b&gt;</dd>`},
		{"", `<dd id="device-label">(the kit sent no name)</dd>`},
	} {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		c, body := e.form("/oauth/device_authorization", url.Values{
			"client_id":         {provisioning.ClientID},
			"device_public_key": {provisioning.EncodePublicKey(pub)},
			"device_label":      {tc.label},
		})
		var other deviceAuthResponse
		if err := json.Unmarshal(body, &other); c != 200 || err != nil {
			t.Fatalf("device authorization: %d %s", c, body)
		}
		if _, page := b.get("/admin/pair?code=" + other.UserCode); !strings.Contains(page, tc.want) {
			t.Errorf("label %q: confirmation step lacks %q:\n%s", tc.label, tc.want, page)
		}
	}

	// Approving from the confirmation step pairs the room.
	code, page = b.post("/admin/pair", url.Values{"csrf": {csrfOf(t, page)}, "user_code": {da.UserCode}, "name": {"Boardroom"}, "location": {"3rd floor"}}, e.ts.URL)
	if code != 200 || !strings.Contains(page, `Paired &#34;Boardroom&#34;`) {
		t.Fatalf("approve: %d\n%s", code, page)
	}

	// A code nobody waits with (here: the one just used) stays on step
	// one with the reason, and looking codes up counts toward the lockout.
	for i := range 5 {
		code, page = b.get("/admin/pair?code=" + typed)
		if code != 404 || !strings.Contains(page, "No room is waiting with the code "+da.UserCode) || strings.Contains(page, `id="device"`) {
			t.Fatalf("look-up %d of a used code: %d\n%s", i+1, code, page)
		}
	}
	code, page = b.get("/admin/pair?code=" + typed)
	if code != 429 || !strings.Contains(page, "Too many wrong pairing codes") {
		t.Errorf("6th wrong look-up: %d, want 429\n%s", code, page)
	}
}

// simulatedFull is the error SQLite gives when the disk is full
// (SQLITE_FULL), as modernc.org/sqlite reports it.
type simulatedFull struct{}

func (simulatedFull) Error() string { return "database or disk is full (13)" }
func (simulatedFull) Code() int     { return sqliteFull }

// faultyDriver wraps the SQLite driver so that, while its switch is on,
// every statement that writes fails as on a full disk. Reads still work,
// as they do on a real full disk.
type faultyDriver struct{ inner driver.Driver }

var (
	registerFaulty sync.Once
	faultSwitches  sync.Map // id -> *atomic.Bool
	faultSeq       atomic.Int64
)

func (d faultyDriver) Open(name string) (driver.Conn, error) {
	id, dsn, _ := strings.Cut(name, "|")
	c, err := d.inner.Open(dsn)
	if err != nil {
		return nil, err
	}
	sw, _ := faultSwitches.Load(id)
	return &faultyConn{Conn: c, full: sw.(*atomic.Bool)}, nil
}

type faultyConn struct {
	driver.Conn
	full *atomic.Bool
}

func (c *faultyConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *faultyConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	verb := strings.ToUpper(strings.Fields(q + " x")[0])
	write := verb == "INSERT" || verb == "UPDATE" || verb == "DELETE" || verb == "REPLACE"
	return &faultyStmt{Stmt: st, full: c.full, write: write}, nil
}

func (c *faultyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

type faultyStmt struct {
	driver.Stmt
	full  *atomic.Bool
	write bool
}

func (s *faultyStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.write && s.full.Load() {
		return nil, simulatedFull{}
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *faultyStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.write && s.full.Load() {
		return nil, simulatedFull{}
	}
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// lockedBuffer collects the portal's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(sub string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ln := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(ln, sub) {
			out = append(out, ln)
		}
	}
	return out
}

// newFullDiskEnv is newEnv on a database whose disk fills up when the
// returned switch is turned on.
func newFullDiskEnv(t *testing.T) (*env, *atomic.Bool, *lockedBuffer) {
	t.Helper()
	registerFaulty.Do(func() {
		db, _ := sql.Open("sqlite", ":memory:")
		sql.Register("sqlite-faulty", faultyDriver{db.Driver()})
		db.Close()
	})
	id := fmt.Sprint(faultSeq.Add(1))
	full := new(atomic.Bool)
	faultSwitches.Store(id, full)
	open := func(dir string) (*sqlDB, error) {
		db, err := openDB(dir) // creates and migrates
		if err != nil {
			return nil, err
		}
		db.Close()
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(5000)")
		q.Add("_pragma", "foreign_keys(1)")
		raw, err := sql.Open("sqlite-faulty", id+"|file:"+filepath.Join(dir, "portal.db")+"?"+q.Encode())
		if err != nil {
			return nil, err
		}
		raw.SetMaxOpenConns(1)
		return newSQLDB(raw, sqlite), nil
	}
	logs := new(lockedBuffer)
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	e := startEnv(t, httptest.NewUnstartedServer(nil), c,
		Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(logs, nil)), openDB: open},
		func(s *Server) { s.conf = newFakeConference() })
	return e, full, logs
}

// TestDiskFull: with the disk full, kits and API callers are told in
// words that the portal cannot store data (503, Retry-After), never
// SQLite's message; the log says so once a minute, not once a request;
// and nothing is lost: once there is space again, the same code pairs.
func TestDiskFull(t *testing.T) {
	e, full, logs := newFullDiskEnv(t)
	k := e.newKit()
	da := k.authorize() // before the disk fills up
	full.Store(true)

	for _, tc := range []struct {
		name string
		do   func() (int, http.Header, []byte)
	}{
		{"kit asks for a code", func() (int, http.Header, []byte) {
			return e.do("POST", "/oauth/device_authorization", "application/x-www-form-urlencoded", []byte(url.Values{
				"client_id":         {provisioning.ClientID},
				"device_public_key": {provisioning.EncodePublicKey(k.key.Public().(ed25519.PublicKey))},
			}.Encode()), nil)
		}},
		{"kit polls", func() (int, http.Header, []byte) {
			return e.do("POST", "/oauth/token", "application/x-www-form-urlencoded", []byte(url.Values{
				"grant_type":            {grantDeviceCode},
				"device_code":           {da.DeviceCode},
				"client_id":             {provisioning.ClientID},
				"client_assertion_type": {provisioning.AssertionType},
				"client_assertion":      {k.assertion()},
			}.Encode()), nil)
		}},
		{"API pairs", func() (int, http.Header, []byte) {
			return e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: "Boardroom"})
		}},
		{"API pairs again", func() (int, http.Header, []byte) {
			return e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: "Boardroom"})
		}},
		{"API unpairs", func() (int, http.Header, []byte) {
			return e.admin("DELETE", "/api/v1/admin/rooms/rm_none", nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, b := tc.do()
			if code != 503 || hdr.Get("Retry-After") != "60" || !strings.Contains(string(b), "cannot store data right now") {
				t.Errorf("%d Retry-After %q %s; want 503, Retry-After 60 and the plain words", code, hdr.Get("Retry-After"), b)
			}
			if strings.Contains(string(b), "(13)") || strings.Contains(string(b), "disk is full") {
				t.Errorf("the answer repeats SQLite's message: %s", b)
			}
		})
	}

	// Two failed pairings within a minute: one log line. A minute later,
	// the next failure logs again and counts the one held back.
	if got := logs.lines(`what="pair the room"`); len(got) != 1 || !strings.Contains(got[0], "disk_full=true") {
		t.Errorf("log lines for the failed pairings: %q, want one", got)
	}
	e.clock.Advance(time.Minute)
	e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: "Boardroom"})
	if got := logs.lines(`what="pair the room"`); len(got) != 2 || !strings.Contains(got[1], "suppressed=1") {
		t.Errorf("log lines a minute later: %q, want a second one with suppressed=1", got)
	}

	// Space again: the code still waits and pairs.
	full.Store(false)
	if code, _, b := e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: "Boardroom"}); code != 201 {
		t.Errorf("pairing once there is space: %d %s", code, b)
	}
}

// TestMeetingStoreFailures: Meet Now, scheduling and deleting meetings answer a
// failing database as pairing does (TestDiskFull): the plain words to
// the caller, SQLite's message only in the log.
func TestMeetingStoreFailures(t *testing.T) {
	e, full, logs := newFullDiskEnv(t)
	roomID, access := e.pairKit(e.newKit(), "Boardroom")
	schedule := func() (int, http.Header, []byte) {
		return e.admin("POST", "/api/v1/admin/rooms/"+roomID+"/meetings",
			scheduleRequest{Title: "Weekly sync", Start: "2026-11-02T10:00", Minutes: 60})
	}
	code, _, b := schedule()
	if code != 201 {
		t.Fatalf("schedule while there is space: %d %s", code, b)
	}
	var ans meetingAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		t.Fatal(err)
	}
	full.Store(true)

	// In order: the last one takes the rooms table away, so that even
	// reading a room (one the portal has not cached) fails.
	for _, tc := range []struct {
		name   string
		before func()
		do     func() (int, http.Header, []byte)
		code   int
		words  string
		logged string // the log's what
	}{
		{"schedule, disk full", nil, schedule, 503, "cannot store data right now", "create the meeting"},
		{"Meet Now, disk full", nil, func() (int, http.Header, []byte) {
			code, b := e.kitCall(access, "POST", "/api/v1/device/meetings", "")
			return code, nil, b
		}, 503, "cannot store data right now", "start the meeting"},
		{"delete, disk full", nil, func() (int, http.Header, []byte) {
			return e.admin("DELETE", "/api/v1/admin/meetings/"+ans.Meeting.ID, nil)
		}, 503, "cannot store data right now", "delete the meeting"},
		{"schedule, rooms unreadable", func() {
			if _, err := e.srv.db.Exec("ALTER TABLE rooms RENAME TO rooms_gone"); err != nil {
				t.Fatal(err)
			}
		}, func() (int, http.Header, []byte) {
			return e.admin("POST", "/api/v1/admin/rooms/rm_notcached/meetings",
				scheduleRequest{Title: "Weekly sync", Start: "2026-11-02T10:00", Minutes: 60})
		}, 500,
			"Could not look up the room because of an internal error; the portal's log has the details.", "look up the room"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			code, _, b := tc.do()
			if code != tc.code || !strings.Contains(string(b), tc.words) {
				t.Errorf("%d %s; want %d and %q", code, b, tc.code, tc.words)
			}
			for _, sqlite := range []string{"(13)", "disk is full", "no such table"} {
				if strings.Contains(string(b), sqlite) {
					t.Errorf("the answer repeats the database's message: %s", b)
				}
			}
			if got := logs.lines(`what="` + tc.logged + `"`); len(got) != 1 {
				t.Errorf("log lines for %q: %q, want one", tc.logged, got)
			}
		})
	}
}

func TestLogLimiter(t *testing.T) {
	l := newLogLimiter(time.Minute)
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		at             time.Duration
		key            string
		ok             bool
		wantSuppressed int
	}{
		{0, "flush", true, 0},
		{time.Second, "flush", false, 0},
		{2 * time.Second, "flush", false, 0},
		{3 * time.Second, "sweep", true, 0}, // other keys have their own budget
		{59 * time.Second, "flush", false, 0},
		{time.Minute, "flush", true, 3},
		{2 * time.Minute, "flush", true, 0},
	} {
		n, ok := l.allow(t0.Add(tc.at), tc.key)
		if ok != tc.ok || n != tc.wantSuppressed {
			t.Errorf("%d: allow(+%v, %s) = %d, %v; want %d, %v", i, tc.at, tc.key, n, ok, tc.wantSuppressed, tc.ok)
		}
	}
}

func TestStaticNoListing(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/admin/static/", 404},
		{"/admin/static/style.css", 200},
		{"/admin/static/nothing.css", 404},
	} {
		code, _, b := e.do("GET", tc.path, "", nil, nil)
		if code != tc.code {
			t.Errorf("GET %s: %d, want %d", tc.path, code, tc.code)
		}
		if regexp.MustCompile(`<a href="style.css">`).Match(b) {
			t.Errorf("GET %s lists the folder:\n%s", tc.path, b)
		}
	}
}
