package portal

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"roomkit/internal/pgtest"
	"roomkit/ota"
)

// Replicas (docs/replicas.md): two portals on one PostgreSQL database,
// each on its own loopback server, share nothing but the database.

// newReplicas starts two portals, A and B, on a fresh PostgreSQL
// database, with one clock.
func newReplicas(t *testing.T) (a, b *env, dsn string) {
	t.Helper()
	dsn = pgtest.Database(t, "")
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a = startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DataDir: t.TempDir(), DB: dsn}, nil)
	b = startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DataDir: t.TempDir(), DB: dsn}, nil)
	return a, b, dsn
}

// pairAcross pairs a kit that asks through from, approved by an admin
// through admin; the kit then fetches its token through from.
func pairAcross(t *testing.T, from, admin *env, name string) (roomID, tok string) {
	t.Helper()
	k := from.newKit()
	da := k.authorize()
	if code, _, b := admin.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: name}); code != 201 {
		t.Fatalf("pair through the other replica: %d %s", code, b)
	}
	st, m := k.poll(da.DeviceCode)
	if st != 200 {
		t.Fatalf("token: %d %v", st, m)
	}
	return m["room"].(map[string]any)["id"].(string), m["access_token"].(string)
}

func roomIn(t *testing.T, e *env, id string) Room {
	t.Helper()
	for _, r := range listRoomsAPI(t, e) {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("room %s not listed", id)
	return Room{}
}

// TestReplicasPairAndHeartbeat: a kit paired through A heartbeats
// through B, and each replica shows what the other stored, at once.
func TestReplicasPairAndHeartbeat(t *testing.T) {
	a, b, _ := newReplicas(t)
	id, tok := pairAcross(t, a, b, "Boardroom")
	if r := roomIn(t, b, id); r.Name != "Boardroom" {
		t.Fatalf("B lists %+v", r)
	}
	for i, tc := range []struct {
		via     *env
		version string
	}{{b, "1.0.0"}, {a, "1.0.1"}, {b, "1.0.2"}} {
		if code, body := tc.via.heartbeat(tok, strings.Replace(goodHeartbeat, "0.1.0", tc.version, 1)); code != 200 {
			t.Fatalf("heartbeat %d: %d %s", i, code, body)
		}
		for _, e := range []*env{a, b} {
			if r := roomIn(t, e, id); r.Version != tc.version || !r.Online || r.State != "ready" {
				t.Fatalf("heartbeat %d (%s): a replica lists version %q online %v state %q", i, tc.version, r.Version, r.Online, r.State)
			}
		}
	}
}

// TestReplicasWrongCodes: 5 wrong pairing codes split across A and B
// lock the address out on both.
func TestReplicasWrongCodes(t *testing.T) {
	a, b, _ := newReplicas(t)
	da := a.newKit().authorize()
	wrong := "BBBB-BBBB"
	if da.UserCode == wrong {
		wrong = "CCCC-CCCC"
	}
	for i, e := range []*env{a, b, a, b, a} {
		if code, _, body := e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: wrong, Name: "X"}); code != 404 {
			t.Fatalf("wrong code %d: %d %s, want 404", i+1, code, body)
		}
	}
	for name, e := range map[string]*env{"A": a, "B": b} {
		code, hdr, body := e.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: "Boardroom"})
		if code != 429 || hdr.Get("Retry-After") != "900" {
			t.Errorf("right code through %s after 5 wrong ones: %d %s Retry-After %q, want 429 and 900", name, code, body, hdr.Get("Retry-After"))
		}
	}
	a.clock.Advance(15*time.Minute + time.Second)
	fresh := b.newKit().authorize().UserCode // the first code expired meanwhile
	if code, _, body := a.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: fresh, Name: "Boardroom"}); code != 201 {
		t.Errorf("after the lock: %d %s, want 201", code, body)
	}
}

// TestReplicasDeviceAuthRate: the device authorization rate limit (60 a
// minute from one address) counts requests to both replicas.
func TestReplicasDeviceAuthRate(t *testing.T) {
	a, b, _ := newReplicas(t)
	k := a.newKit()
	for i := range 60 {
		e := []*env{a, b}[i%2]
		k.e = e
		k.authorize()
	}
	for name, e := range map[string]*env{"A": a, "B": b} {
		code, _ := e.form("/oauth/device_authorization", url.Values{})
		if code != 429 {
			t.Errorf("61st request through %s: %d, want 429", name, code)
		}
	}
}

// TestReplicasAdminSession: a session signed in on A works on B, with
// its CSRF token; signing out on B ends it on A.
func TestReplicasAdminSession(t *testing.T) {
	a, b, _ := newReplicas(t)
	if err := a.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	ba := a.browser()
	if code, page := ba.login("it@example.com", "correct4horse"); code != 200 || !strings.Contains(page, "No rooms yet") {
		t.Fatalf("sign in on A: %d\n%s", code, page)
	}
	bb := &browser{t: t, e: b, c: ba.c} // the same cookies, through B
	code, page := bb.get("/admin/pair")
	if code != 200 || strings.Contains(page, "Sign in") {
		t.Fatalf("B does not know A's session: %d\n%s", code, page)
	}
	csrf := csrfOf(t, page)
	if code, page := bb.post("/admin/pair", url.Values{"csrf": {csrf}, "user_code": {"BCDF-GHJK"}, "name": {"X"}}, b.ts.URL); code == 403 ||
		!strings.Contains(page, "No room is waiting with the code BCDF-GHJK") {
		t.Fatalf("POST through B with A's CSRF token: %d\n%s", code, page)
	}
	if code, _ := bb.post("/admin/pair", url.Values{"csrf": {"forged"}, "user_code": {"BCDF-GHJK"}, "name": {"X"}}, b.ts.URL); code != 403 {
		t.Errorf("forged CSRF token through B: %d, want 403", code)
	}
	// Wrong passwords split across A and B add up to one lockout.
	bx := b.browser()
	for i := range 5 {
		via := []*browser{bx, {t: t, e: a, c: bx.c}}[i%2]
		if code, _ := via.login("it@example.com", "wrong1password"); code != 401 {
			t.Fatalf("wrong password %d: %d, want 401", i+1, code)
		}
	}
	if code, _ := bx.login("it@example.com", "correct4horse"); code != 429 {
		t.Errorf("right password after 5 wrong ones across replicas: %d, want 429", code)
	}
}

// TestReplicasTokenRevoked: a room unpaired through A: its access token
// is refused by B, which had just accepted it.
func TestReplicasTokenRevoked(t *testing.T) {
	a, b, _ := newReplicas(t)
	id, tok := pairAcross(t, b, a, "Boardroom")
	if code, body := b.heartbeat(tok, goodHeartbeat); code != 200 {
		t.Fatalf("heartbeat through B: %d %s", code, body)
	}
	if code, _, body := a.admin("DELETE", "/api/v1/admin/rooms/"+id, nil); code != 200 && code != 204 {
		t.Fatalf("unpair through A: %d %s", code, body)
	}
	if code, body := b.heartbeat(tok, goodHeartbeat); code != 401 {
		t.Errorf("heartbeat through B after unpairing through A: %d %s, want 401", code, body)
	}
}

// TestReplicasActions: a remote action requested through A reaches the
// kit through B; its "done" through A shows through B; a second request
// of the same kind through B is the first one.
func TestReplicasActions(t *testing.T) {
	a, b, _ := newReplicas(t)
	id, tok := pairAcross(t, a, b, "Boardroom")
	req := request(t, a, id, "restart", "")
	if again := request(t, b, id, "restart", ""); again.ID != req.ID {
		t.Errorf("same request through B: %s, want %s", again.ID, req.ID)
	}
	acts := beatActions(t, b, tok, goodHeartbeat)
	if len(acts) != 1 || acts[0].ID != req.ID {
		t.Fatalf("B's heartbeat answer: %+v, want %s", acts, req.ID)
	}
	if got := actionOf(t, a, id, req.ID); got.Status != actionDelivered {
		t.Errorf("through A after delivery via B: %s", got.Status)
	}
	done := strings.TrimSuffix(goodHeartbeat, "}") + fmt.Sprintf(`,"actions_done":[{"id":%q}]}`, req.ID)
	if acts := beatActions(t, a, tok, done); len(acts) != 0 {
		t.Errorf("A still hands out %+v after done", acts)
	}
	if got := actionOf(t, b, id, req.ID); got.Status != actionOK {
		t.Errorf("through B after done via A: %s", got.Status)
	}
	if acts := beatActions(t, b, tok, goodHeartbeat); len(acts) != 0 {
		t.Errorf("B still hands out %+v after done", acts)
	}
}

// replicaChildEnv names the database a child replica serves
// (TestReplicaChild); unset in an ordinary run.
const replicaChildEnv = "ROOMKIT_REPLICA_CHILD_DSN"

// TestReplicaChild is replica A as a process of its own, for
// TestReplicaKilled to kill: it serves the database named in its
// environment on a loopback port, prints "listening <addr> <token>" and
// serves until it is killed.
func TestReplicaChild(t *testing.T) {
	dsn := os.Getenv(replicaChildEnv)
	if dsn == "" {
		t.Skip("only as TestReplicaKilled's child process")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{DataDir: t.TempDir(), DB: dsn, URL: "http://" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := srv.CreateAPIToken("child")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("listening %s %s\n", ln.Addr(), tok)
	t.Fatal(http.Serve(ln, srv.Handler()))
}

// TestReplicaKilled: replica A killed (SIGKILL: no flush, no goodbye)
// loses no write. Precisely: a heartbeat A answered 200 is stored, as
// B shows; a heartbeat A was still writing when it died was never
// answered, is stored whole or not at all, and the kit's retry through
// B stores it.
func TestReplicaKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a portal process")
	}
	dsn := pgtest.Database(t, "")
	c := &clock{t: time.Now()} // the child runs on the real clock
	b := startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DataDir: t.TempDir(), DB: dsn}, nil)

	cmd := exec.Command(os.Args[0], "-test.run=^TestReplicaChild$", "-test.v")
	cmd.Env = append(os.Environ(), replicaChildEnv+"="+dsn, "ROOMKIT_TEST_STORE=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	var addr, aToken string
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if _, err := fmt.Sscanf(lines.Text(), "listening %s %s", &addr, &aToken); err == nil {
			break
		}
	}
	if addr == "" {
		t.Fatal("replica A did not start")
	}
	go func() { // drain what else it prints
		for lines.Scan() {
		}
	}()
	a := &env{t: t, srv: b.srv, clock: c, token: aToken, client: &http.Client{},
		ts: &httptest.Server{URL: "http://" + addr}}

	id, tok := pairAcross(t, b, a, "Boardroom")
	if code, body := a.heartbeat(tok, strings.Replace(goodHeartbeat, "0.1.0", "2.0.0", 1)); code != 200 {
		t.Fatalf("heartbeat through A: %d %s", code, body)
	}

	// Hold the room's row so that A's next heartbeat waits in its write.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	hold, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.Exec("SELECT id FROM rooms WHERE id = $1 FOR UPDATE", id); err != nil {
		t.Fatal(err)
	}
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/device/heartbeat", strings.NewReader(strings.Replace(goodHeartbeat, "0.1.0", "2.0.1", 1)))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	var pid int
	waitFor(t, "A's write waiting for the row", func() bool {
		err := db.QueryRow(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE 'UPDATE rooms%'`).Scan(&pid)
		if err != nil && err != sql.ErrNoRows {
			t.Fatal(err)
		}
		return err == nil
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed = true
	if code := <-answered; code != 0 {
		t.Fatalf("the heartbeat A was writing when killed was answered %d", code)
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	// A's connections end once PostgreSQL sees the process gone.
	waitFor(t, "A's writing connection to end", func() bool {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})

	// The heartbeat A never answered is stored whole or not at all (one
	// statement); the kit sends it again.
	if r := roomIn(t, b, id); r.Version != "2.0.0" && r.Version != "2.0.1" {
		t.Fatalf("after A was killed, B lists version %q, want the acknowledged 2.0.0 (or the unanswered 2.0.1)", r.Version)
	}
	if code, body := b.heartbeat(tok, strings.Replace(goodHeartbeat, "0.1.0", "2.0.1", 1)); code != 200 {
		t.Fatalf("the kit's retry through B: %d %s", code, body)
	}
	if r := roomIn(t, b, id); r.Version != "2.0.1" {
		t.Errorf("after the retry through B: version %q, want 2.0.1", r.Version)
	}
}

// waitFor polls done until it holds: the event waited for is in
// PostgreSQL, which tells of it only when asked. It gives up after a
// minute.
func waitFor(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplicasJanitorLeader: one replica at a time runs the fleet-wide
// jobs (alerts, rollouts); when it closes, another takes over.
func TestReplicasJanitorLeader(t *testing.T) {
	a, b, _ := newReplicas(t)
	// The background goroutines may already have tried: stop them, and
	// ask as they would.
	for _, e := range []*env{a, b} {
		close(e.srv.stop)
		e.srv.done.Wait()
		e.srv.stop = make(chan struct{})
	}
	first, second := a, b
	if !a.srv.leading() {
		first, second = b, a
	}
	if !first.srv.leading() {
		t.Fatal("neither replica leads")
	}
	if !first.srv.leading() {
		t.Error("the leader lost the lock by asking again")
	}
	if second.srv.leading() {
		t.Fatal("both replicas lead")
	}
	first.srv.resign()
	if !second.srv.leading() {
		t.Error("the other replica did not take over once the leader gave up")
	}
	if first.srv.leading() {
		t.Error("the old leader leads again while the new one holds the lock")
	}
	second.srv.resign()
}

// TestReplicasRaceOneWinner: requests that check and then write the
// same thing, sent through A and B at once, have exactly one winner:
// each transaction takes the lock of what it checks (sqlTx.lock), not
// one lock for every transaction.
func TestReplicasRaceOneWinner(t *testing.T) {
	for _, tc := range []struct {
		name string
		// race returns the requests to send at once, each with the
		// statuses it may win and lose with.
		race func(t *testing.T, a, b *env) []raceRequest
	}{
		{"one pairing code approved through both", func(t *testing.T, a, b *env) []raceRequest {
			code := a.newKit().authorize().UserCode
			var rs []raceRequest
			for i := range 8 {
				rs = append(rs, raceRequest{[]*env{a, b}[i%2], "POST", "/api/v1/admin/pairings",
					fmt.Sprintf(`{"user_code":%q,"name":"Room %d"}`, code, i), 201, 409})
			}
			return rs
		}},
		{"one pairing code approved through A, denied through B", func(t *testing.T, a, b *env) []raceRequest {
			code := a.newKit().authorize().UserCode
			return []raceRequest{
				{a, "POST", "/api/v1/admin/pairings", fmt.Sprintf(`{"user_code":%q,"name":"Boardroom"}`, code), 201, 409},
				{b, "DELETE", "/api/v1/admin/pairings/" + code, "", 204, 409},
			}
		}},
		{"one kit's two codes approved through both", func(t *testing.T, a, b *env) []raceRequest {
			k := a.newKit()
			first, second := k.authorize().UserCode, k.authorize().UserCode
			return []raceRequest{
				{a, "POST", "/api/v1/admin/pairings", fmt.Sprintf(`{"user_code":%q,"name":"One"}`, first), 201, 409},
				{b, "POST", "/api/v1/admin/pairings", fmt.Sprintf(`{"user_code":%q,"name":"Two"}`, second), 201, 409},
			}
		}},
		{"the last two owners demote each other through both", func(t *testing.T, a, b *env) []raceRequest {
			ownerToken(t, a)
			b.token = a.token // one database: the token works on both
			var ids []int64
			for _, email := range []string{"one@example.com", "two@example.com"} {
				if err := a.srv.CreateAdmin(email, "correct4horse"); err != nil { // owners
					t.Fatal(err)
				}
				id, err := a.srv.adminID(email)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			return []raceRequest{
				{a, "PUT", "/api/v1/admin/admins/" + itoa(ids[0]) + "/role", `{"role":"admin"}`, 200, 409},
				{b, "PUT", "/api/v1/admin/admins/" + itoa(ids[1]) + "/role", `{"role":"admin"}`, 200, 409},
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b, _ := newReplicas(t)
			rs := tc.race(t, a, b)
			start := make(chan struct{})
			type result struct {
				i    int
				code int
				body string
				err  error
			}
			results := make(chan result, len(rs))
			for i, r := range rs {
				go func() {
					<-start
					code, body, err := r.send()
					results <- result{i, code, body, err}
				}()
			}
			close(start)
			wins := 0
			for range rs {
				res := <-results
				r := rs[res.i]
				switch {
				case res.err != nil:
					t.Errorf("%s %s: %v", r.method, r.path, res.err)
				case res.code == r.win:
					wins++
				case res.code != r.lose:
					t.Errorf("%s %s: %d %s, want %d or %d", r.method, r.path, res.code, res.body, r.win, r.lose)
				}
			}
			if wins != 1 {
				t.Errorf("%d of %d requests won, want exactly 1", wins, len(rs))
			}
		})
	}
}

// raceRequest is one admin API request of a race, with the status that
// wins it and the one that loses it.
type raceRequest struct {
	via          *env
	method, path string
	body         string
	win, lose    int
}

// send is e.admin without t.Fatal, for a goroutine of the test.
func (r raceRequest) send() (int, string, error) {
	req, err := http.NewRequest(r.method, r.via.ts.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.via.token)
	resp, err := r.via.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// BenchmarkHeartbeatReplicas: BenchmarkHeartbeatRooms through two
// replicas on one PostgreSQL database, each room's heartbeats taking
// turns between them (docs/replicas.md, "What it costs").
func BenchmarkHeartbeatReplicas(b *testing.B) {
	dsn := pgtest.Database(b, "")
	var hs []http.Handler
	var a *Server
	for range 2 {
		srv, err := New(Config{DataDir: b.TempDir(), URL: "http://127.0.0.1", DB: dsn})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		if a == nil {
			a = srv
		}
		hs = append(hs, srv.Handler())
	}
	benchHeartbeats(b, benchRooms(b, a, 500), hs...)
}

// TestReplicasUpdates: update policies, rollouts and "update now"
// requests changed through A reach the kit through B at once, and B's
// admin API shows them; a rollout B started is paused through A. Each
// step changes something through A, then asks B.
func TestReplicasUpdates(t *testing.T) {
	a, b, _ := newReplicas(t)
	id, tok := pairAcross(t, a, b, "Boardroom")
	if _, err := a.srv.db.Exec("UPDATE rooms SET grp = 'lab' WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	// Every room in the first ring, so the answer's allowance is the
	// rollout's alone; the kit reports 1.5.0 available through B, which
	// starts its rollout.
	putPolicy(t, a, "fleet", map[string]any{"rings": []int{100}})
	base := *beatAnswer(t, b, tok, updateBeat(report(ota.Idle, "", "1.5.0")))
	if base.Allowed != "1.5.0" || base.Paused || base.Channel != "stable" {
		t.Fatalf("B's first answer: %+v", base)
	}
	night := ota.Window{Start: "22:00", End: "02:00"}
	var request, reason string
	steps := []struct {
		name  string
		via   func() // through A
		beat  string // the kit's heartbeat through B
		want  func(p *ota.Policy)
		check func() // through B's admin API
	}{
		{"fleet channel and window", func() {
			putPolicy(t, a, "fleet", map[string]any{"rings": []int{100}, "channel": "beta", "window": night})
		}, goodHeartbeat, func(p *ota.Policy) { p.Channel, p.Window, p.Allowed = "beta", night, "" }, func() {
			if v := getPolicy(t, b, "fleet"); v.Effective.Channel != "beta" || v.Effective.Window != night {
				t.Errorf("B's fleet policy: %+v", v.Effective)
			}
		}},
		{"group policy", func() {
			putPolicy(t, a, "group:lab", map[string]any{"channel": "stable"})
		}, goodHeartbeat, func(p *ota.Policy) { p.Window = night }, nil},
		{"room paused", func() {
			putPolicy(t, a, "room:"+id, map[string]any{"paused": true})
		}, goodHeartbeat, func(p *ota.Policy) {
			p.Window, p.Allowed, p.Paused, p.PauseReason = night, "", true, "paused by an administrator"
		}, func() {
			if v := getPolicy(t, b, "room:"+id); !v.Effective.Paused {
				t.Errorf("B's room policy: %+v", v.Effective)
			}
		}},
		{"policies deleted", func() {
			for _, scope := range []string{"room:" + id, "group:lab"} {
				if code, _, body := a.admin("DELETE", "/api/v1/admin/update-policy/"+scope, nil); code != 200 && code != 204 {
					t.Fatalf("delete %s through A: %d %s", scope, code, body)
				}
			}
			putPolicy(t, a, "fleet", map[string]any{"rings": []int{100}})
		}, goodHeartbeat, func(p *ota.Policy) {}, nil},
		{"rollout paused", func() {
			if code, _, body := a.admin("POST", "/api/v1/admin/rollouts/stable/1.5.0/pause", nil); code != 200 {
				t.Fatalf("pause through A the rollout B started: %d %s", code, body)
			}
			reason = listRolloutsAPI(t, a)[0].Reason
		}, goodHeartbeat, func(p *ota.Policy) {
			p.Allowed, p.Paused, p.PauseReason = "", true, reason
		}, func() {
			if rs := listRolloutsAPI(t, b); len(rs) != 1 || !rs[0].Paused {
				t.Errorf("B's rollouts: %+v", rs)
			}
		}},
		{"rollout resumed", func() {
			if code, _, body := a.admin("POST", "/api/v1/admin/rollouts/stable/1.5.0/resume", nil); code != 200 {
				t.Fatalf("resume through A: %d %s", code, body)
			}
		}, goodHeartbeat, func(p *ota.Policy) {}, nil},
		{"update now", func() {
			code, _, body := a.admin("POST", "/api/v1/admin/rooms/"+id+"/update", nil)
			var ans struct {
				Request string `json:"request"`
			}
			if code != 202 || json.Unmarshal(body, &ans) != nil || ans.Request == "" {
				t.Fatalf("update now through A: %d %s", code, body)
			}
			request = ans.Request
		}, goodHeartbeat, func(p *ota.Policy) { p.InstallNow = request }, nil},
		{"request taken (reported through A)", func() {
			took, _ := json.Marshal(ota.Report{Status: ota.Status{State: ota.Downloading, TargetVersion: "1.5.0"}, Channel: "stable", Request: request})
			if p := beatAnswer(t, a, tok, updateBeat(string(took))); p.InstallNow != "" {
				t.Errorf("A still asks for %q after the kit took it", p.InstallNow)
			}
		}, goodHeartbeat, func(p *ota.Policy) {}, nil},
	}
	for _, s := range steps {
		s.via()
		want := base
		s.want(&want)
		if p := beatAnswer(t, b, tok, s.beat); *p != want {
			t.Errorf("%s through A: B answers %+v, want %+v", s.name, *p, want)
		}
		if s.check != nil {
			s.check()
		}
	}
}

// TestReplicasRolloutBehind: a replica whose copy of the rollouts is a
// moment behind (A paused one since B last read them) and that finds a
// ring due does not write its copy back: the pause stays, the ring with
// it.
func TestReplicasRolloutBehind(t *testing.T) {
	a, b, _ := newReplicas(t)
	_, tok := pairAcross(t, a, b, "Boardroom")
	putPolicy(t, a, "fleet", map[string]any{"rings": []int{50, 100}, "soak": "1h"})
	beatAnswer(t, b, tok, updateBeat(report(ota.Idle, "", "1.5.0")))
	if code, _, body := a.admin("POST", "/api/v1/admin/rollouts/stable/1.5.0/pause", nil); code != 200 {
		t.Fatalf("pause through A: %d %s", code, body)
	}
	a.clock.Advance(time.Hour)
	// B's janitor tick without its sync: what B holds says ring 0, not
	// paused, soaked.
	b.srv.upd.mu.Lock()
	r := *b.srv.upd.rollouts[rolloutKey{"stable", "1.5.0"}]
	b.srv.upd.mu.Unlock()
	if r.Paused || r.Ring != 0 {
		t.Fatalf("B's copy is not behind (the test's premise): %+v", r)
	}
	if err := b.srv.advanceRollouts(); err != nil {
		t.Fatal(err)
	}
	if rs := listRolloutsAPI(t, a); len(rs) != 1 || !rs[0].Paused || rs[0].Ring != 0 {
		t.Errorf("after B advanced its stale copy: %+v, want ring 0 paused", rs)
	}
}

// newProxiedReplicas is newReplicas behind a trusted proxy on loopback,
// so a test names each heartbeat's address (X-Forwarded-For).
func newProxiedReplicas(t *testing.T) (a, b *env) {
	t.Helper()
	dsn := pgtest.Database(t, "")
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	cfg := func() Config { return Config{DataDir: t.TempDir(), DB: dsn, TrustedProxies: loopbackProxy} }
	a = startEnv(t, httptest.NewUnstartedServer(nil), c, cfg(), nil)
	b = startEnv(t, httptest.NewUnstartedServer(nil), c, cfg(), nil)
	return a, b
}

// linkBeat is a heartbeat through replica via ("A" or "B") from address
// from saying uptime, latency and, when meeting is not "", the meeting
// the kit is in.
type linkBeat struct {
	via     string
	from    string
	uptime  int64
	latency int64
	meeting string
}

func (l linkBeat) send(t *testing.T, e *env, tok string) {
	t.Helper()
	state, meeting := "ready", ""
	if l.meeting != "" {
		state, meeting = "in-meeting", fmt.Sprintf(`,"meeting":{"id":%q,"participants":3}`, l.meeting)
	}
	body := fmt.Sprintf(`{"state":%q,"version":"1.5.0","uptime_seconds":%d,"latency_ms":%d,"devices":[]%s}`, state, l.uptime, l.latency, meeting)
	code, _, b := e.do("POST", "/api/v1/device/heartbeat", "application/json", []byte(body),
		map[string]string{"Authorization": "Bearer " + tok, "X-Forwarded-For": l.from})
	if code != 200 {
		t.Fatalf("heartbeat from %s through %s: %d %s", l.from, l.via, code, b)
	}
}

// linkBeats pairs a room across two replicas behind a proxy
// (newProxiedReplicas) and sends beats in turn, moving the shared clock
// 15 s on after each; after, if not nil, checks the replicas then. It
// returns the replicas by name and the room.
func linkBeats(t *testing.T, beats []linkBeat, after func(i int, hb linkBeat, replicas map[string]*env, id string)) (map[string]*env, string) {
	t.Helper()
	a, b := newProxiedReplicas(t)
	replicas := map[string]*env{"A": a, "B": b}
	id, tok := pairAcross(t, a, b, "Boardroom")
	for i, hb := range beats {
		hb.send(t, replicas[hb.via], tok)
		a.clock.Advance(15 * time.Second)
		if after != nil {
			after(i, hb, replicas, id)
		}
	}
	return replicas, id
}

// TestReplicasRoomLink: heartbeats alternate A, B, A; the room page and
// the admin API through either replica show the link of the last one,
// sent through A. Each replica once showed only what it saw itself.
func TestReplicasRoomLink(t *testing.T) {
	replicas, id := linkBeats(t, []linkBeat{
		{"A", "192.0.2.1", 100, 31, ""},
		{"B", "192.0.2.2", 115, 32, "111222333"},
		{"A", "192.0.2.3", 130, 33, "444555666"},
	}, func(i int, hb linkBeat, replicas map[string]*env, id string) {
		for name, e := range replicas {
			d := roomDetailOf(t, e, id)
			switch {
			case d.UptimeSeconds == nil || *d.UptimeSeconds != hb.uptime:
				t.Errorf("heartbeat %d: %s shows uptime %s, want %d", i+1, name, orNull(d.UptimeSeconds), hb.uptime)
			case d.Network == nil || d.Network.Address != hb.from || d.Network.LatencyMS == nil || *d.Network.LatencyMS != hb.latency:
				t.Errorf("heartbeat %d: %s shows network %s, want %s at %d ms", i+1, name, jsonOf(d.Network), hb.from, hb.latency)
			case hb.meeting == "" && d.Meeting != nil, hb.meeting != "" && (d.Meeting == nil || d.Meeting.ID != hb.meeting):
				t.Errorf("heartbeat %d: %s shows meeting %s, want %q", i+1, name, jsonOf(d.Meeting), hb.meeting)
			}
		}
	})
	if err := replicas["A"].srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	bb := replicas["B"].browser()
	if code, page := bb.login("it@example.com", "correct4horse"); code != 200 {
		t.Fatalf("sign in on B: %d\n%s", code, page)
	}
	code, page := bb.get("/admin/rooms/" + id)
	if code != 200 {
		t.Fatalf("room page through B: %d\n%s", code, page)
	}
	for _, want := range []string{"192.0.2.3", "33 ms", "444555666 · 3 participants"} {
		if !strings.Contains(page, want) {
			t.Errorf("room page through B lacks %q", want)
		}
	}
}

func orNull(p *int64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestReplicasRestartEvent: a kit whose uptime drops has restarted,
// whichever replica heard it before: up 100 s through A, then 5 s
// through B, then 20 s through A is one "roomd started again", listed
// through both replicas. Each replica once compared with the last
// heartbeat it saw itself: B saw none, and A then saw 20 < 100.
func TestReplicasRestartEvent(t *testing.T) {
	replicas, id := linkBeats(t, []linkBeat{
		{"A", "192.0.2.1", 100, 30, ""},
		{"B", "192.0.2.1", 5, 30, ""},
		{"A", "192.0.2.1", 20, 30, ""},
	}, nil)
	for name, e := range replicas {
		var restarts []string
		for _, ev := range roomDetailOf(t, e, id).Events {
			if ev.Kind == "restart" {
				restarts = append(restarts, ev.Text)
			}
		}
		if len(restarts) != 1 || restarts[0] != "roomd started again (up 5s)" {
			t.Errorf("through %s, restart events %q; want one, up 5s", name, restarts)
		}
	}
}
