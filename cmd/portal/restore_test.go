package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"roomkit/internal/pgtest"
	"roomkit/portalapi"
	"roomkit/provisioning"
)

// TestBackupRestore is docs/deployment.md § Backup and restore, done: a
// portal on PostgreSQL with rooms paired through the real protocol, a
// meeting each and an administrator is dumped with pg_dump while it
// serves, the dump is restored with pg_restore into a fresh database,
// and a portal started on that one has every room, meeting and key
// binding: the kits' tokens still work, their keys still sign them in,
// the administrator signs in with the same password.
func TestBackupRestore(t *testing.T) {
	pg := pgtest.Need(t)
	bin, err := pgtest.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	live := pgtest.Database(t, "")
	const email, password = "it@example.com", "correct4horse"
	if _, _, err := run(t, password+"\n", "admin", "create", "-db", live, "-email", email, "-password", "-"); err != nil {
		t.Fatal(err)
	}
	apiToken, _, err := run(t, "", "token", "create", "-db", live, "-name", "backup-test")
	if err != nil {
		t.Fatal(err)
	}
	apiToken = strings.TrimSpace(apiToken)

	// Before: three rooms paired through the kit's own client, each with
	// a meeting scheduled through the admin API and a heartbeat sent.
	a := startPortal(t, live)
	type room struct {
		id, name string
		kit      *portalapi.Client
		tok      *portalapi.Token
		meeting  string // its ID
	}
	var rooms []*room
	for i := range 3 {
		r := &room{name: fmt.Sprintf("Boardroom %d", i+1)}
		r.kit, r.tok = pairKit(t, a, apiToken, r.name)
		r.id = r.tok.Room.ID
		var m struct {
			Meeting struct {
				ID string `json:"id"`
			} `json:"meeting"`
		}
		adminAPI(t, a, apiToken, http.MethodPost, "/api/v1/admin/rooms/"+r.id+"/meetings",
			map[string]any{"title": fmt.Sprintf("Weekly sync %d", i+1), "start": "2030-01-07T09:00", "minutes": 30, "recurrence": "weekly"},
			http.StatusCreated, &m)
		r.meeting = m.Meeting.ID
		if _, err := r.kit.Heartbeat(ctx, r.tok.AccessToken, portalapi.Report{State: "ready", Version: "0.1.0"}); err != nil {
			t.Fatalf("%s: heartbeat: %v", r.name, err)
		}
		rooms = append(rooms, r)
	}

	// The backup, taken while the portal serves (pg_dump reads one
	// consistent snapshot), in the custom format pg_restore reads.
	dump := filepath.Join(t.TempDir(), "roomkit.pgdump")
	pgTool(t, bin, "pg_dump", "--format=custom", "--file="+dump, "--dbname="+live)
	a.stop(t)

	// The restore: a fresh, empty database, the dump into it without
	// the old owner's name, and a portal started on it.
	name, err := pg.CreateDatabase(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	restored := pg.DSN(name)
	pgTool(t, bin, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname="+restored, dump)

	// Every row: a dump taken once the portal has stopped (its last
	// heartbeat batch written), restored, holds the same rows as the
	// database it came from, every table portal db export knows.
	t.Run("every row", func(t *testing.T) {
		offline := filepath.Join(t.TempDir(), "offline.pgdump")
		pgTool(t, bin, "pg_dump", "--format=custom", "--file="+offline, "--dbname="+live)
		name, err := pg.CreateDatabase(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		pgTool(t, bin, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname="+pg.DSN(name), offline)
		before, after := exportRows(t, live), exportRows(t, pg.DSN(name))
		if len(before) < 20 {
			t.Fatalf("the portal's database holds only %d rows: %q", len(before), before)
		}
		if strings.Join(before, "\n") != strings.Join(after, "\n") {
			t.Errorf("the restored database differs: %d rows before, %d after", len(before), len(after))
			for i := range min(len(before), len(after)) {
				if before[i] != after[i] {
					t.Errorf("first difference:\n%s\n%s", before[i], after[i])
					break
				}
			}
		}
	})

	b := startPortal(t, restored)

	var list []struct{ ID, Name, Location string }
	adminAPI(t, b, apiToken, http.MethodGet, "/api/v1/admin/rooms", nil, http.StatusOK, &list)
	if len(list) != len(rooms) {
		t.Errorf("restored portal lists %d rooms, want %d: %+v", len(list), len(rooms), list)
	}
	for _, r := range rooms {
		t.Run(r.name, func(t *testing.T) {
			found := false
			for _, l := range list {
				found = found || (l.ID == r.id && l.Name == r.name && l.Location == "3rd floor")
			}
			if !found {
				t.Errorf("room %s %q is not in the restored portal: %+v", r.id, r.name, list)
			}
			var ms struct {
				Meetings []struct{ ID, Title string } `json:"meetings"`
			}
			adminAPI(t, b, apiToken, http.MethodGet, "/api/v1/admin/rooms/"+r.id+"/meetings", nil, http.StatusOK, &ms)
			if len(ms.Meetings) != 1 || ms.Meetings[0].ID != r.meeting {
				t.Errorf("meetings of %s after the restore: %+v, want %s", r.id, ms.Meetings, r.meeting)
			}
			// The kit's access token from before the backup still works,
			// on the restored portal.
			kit := &portalapi.Client{PortalURL: b.url, Identity: r.kit.Identity}
			if _, err := kit.Heartbeat(ctx, r.tok.AccessToken, portalapi.Report{State: "ready", Version: "0.1.0"}); err != nil {
				t.Errorf("the kit's token after the restore: %v", err)
			}
			// Its key binding: a client assertion signed with the kit's
			// key gets a new token for the same room.
			tok, err := kit.RefreshToken(ctx)
			if err != nil {
				t.Fatalf("the kit's key after the restore: %v", err)
			}
			if tok.Room == nil || tok.Room.ID != r.id || tok.Room.Name != r.name {
				t.Errorf("the refreshed token names %+v, want room %s %q", tok.Room, r.id, r.name)
			}
		})
	}
	if !signIn(t, b, email, password) {
		t.Errorf("the administrator %s cannot sign in on the restored portal", email)
	}
	if signIn(t, b, email, "wrong4horse") {
		t.Errorf("a wrong password signs in on the restored portal")
	}
}

// TestRestoreBadDump: pg_restore refuses what is not a dump, and the
// database it was aimed at stays as it was (empty: a portal starting on
// it makes a fresh schema, and lists no rooms).
func TestRestoreBadDump(t *testing.T) {
	pg := pgtest.Need(t)
	bin, err := pgtest.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "not-a-dump")
	if err := os.WriteFile(bad, []byte("portal.db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	name, err := pg.CreateDatabase(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	dsn := pg.DSN(name)
	out, err := exec.Command(filepath.Join(bin, "pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction", "--dbname="+dsn, bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "input file does not appear to be a valid archive") {
		t.Fatalf("pg_restore of a non-dump: %v %s; want it refused", err, out)
	}
	tok, _, err := run(t, "", "token", "create", "-db", dsn, "-name", "after")
	if err != nil {
		t.Fatal(err)
	}
	p := startPortal(t, dsn)
	var list []json.RawMessage
	adminAPI(t, p, strings.TrimSpace(tok), http.MethodGet, "/api/v1/admin/rooms", nil, http.StatusOK, &list)
	if len(list) != 0 {
		t.Errorf("rooms after a refused restore: %s", list)
	}
}

// exportRows is portal db export's dump of dsn, its rows sorted (the
// dump lists each table's rows in the order the database reads them).
func exportRows(t *testing.T, dsn string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := storeCommand([]string{"db", "export", "-db", dsn}, cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}); err != nil {
		t.Fatalf("portal db export: %v\n%s", err, errOut.String())
	}
	rows := strings.Split(strings.TrimSpace(out.String()), "\n")
	sort.Strings(rows)
	return rows
}

// pgTool runs one of PostgreSQL's client programs; its output only on failure.
func pgTool(t *testing.T, bin, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// testPortal is a portal served by this process on loopback.
type testPortal struct {
	url    string
	cancel context.CancelFunc
	done   chan error
}

func startPortal(t *testing.T, dsn string) *testPortal {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &testPortal{cancel: cancel, done: make(chan error, 1)}
	listening := make(chan net.Addr, 1)
	go func() {
		p.done <- serve(ctx, []string{"-listen", "127.0.0.1:0", "-livekit", "off", "-db", dsn, "-assets", t.TempDir()},
			func(main, _ net.Addr) { listening <- main })
	}()
	select {
	case addr := <-listening:
		p.url = "http://" + addr.String()
	case err := <-p.done:
		cancel()
		t.Fatalf("portal stopped before listening: %v", err)
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *testPortal) stop(t *testing.T) {
	t.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	if err := <-p.done; err != nil {
		t.Errorf("portal: %v", err)
	}
}

// pairKit pairs a new kit as a room kit does (RFC 8628 with its own
// Ed25519 key), an admin approving its code through the admin API.
func pairKit(t *testing.T, p *testPortal, apiToken, name string) (*portalapi.Client, *portalapi.Token) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := &portalapi.Client{PortalURL: p.url, Identity: &provisioning.Identity{Key: key, DeviceID: provisioning.DeviceID(pub)}}
	ctx := context.Background()
	da, err := c.StartPairing(ctx, name+" kit")
	if err != nil {
		t.Fatalf("%s: start pairing: %v", name, err)
	}
	var approved struct {
		Room struct {
			ID string `json:"id"`
		} `json:"room"`
	}
	adminAPI(t, p, apiToken, http.MethodPost, "/api/v1/admin/pairings",
		map[string]string{"user_code": da.UserCode, "name": name, "location": "3rd floor", "time_zone": "UTC"},
		http.StatusCreated, &approved)
	tok, err := c.PollToken(ctx, da)
	if err != nil {
		t.Fatalf("%s: poll: %v", name, err)
	}
	if tok.Room == nil || tok.Room.ID != approved.Room.ID {
		t.Fatalf("%s: the token names %+v, the approval %q", name, tok.Room, approved.Room.ID)
	}
	return c, tok
}

// adminAPI makes one admin API request and decodes its answer into out.
func adminAPI(t *testing.T, p *testPortal, token, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s, want %d", method, path, resp.Status, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in to the admin center's form as a browser does and says
// whether the portal let the administrator in.
func signIn(t *testing.T, p *testPortal, email, password string) bool {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(p.url + "/admin/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("the sign-in page has no CSRF field: %s", page)
	}
	req, _ := http.NewRequest(http.MethodPost, p.url+"/admin/login",
		strings.NewReader(url.Values{"email": {email}, "password": {password}, "csrf": {string(m[1])}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", p.url)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusFound
}
