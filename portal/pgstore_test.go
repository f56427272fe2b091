package portal

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkit/internal/pgtest"
	"roomkit/provisioning"
)

// emptyPostgres is a fresh database without the portal's schema.
func emptyPostgres(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.Database(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func pgVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query("SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

// TestPostgresHeartbeatUnindexed: no index of rooms holds a column every
// heartbeat flush rewrites, so PostgreSQL can update the row in place
// (migration 16) instead of adding index entries for every heartbeat.
func TestPostgresHeartbeatUnindexed(t *testing.T) {
	ms, err := loadMigrations(postgres)
	if err != nil {
		t.Fatal(err)
	}
	db := emptyPostgres(t)
	if err := migratePostgres(context.Background(), db, ms); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT i.relname, a.attname FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey)
		WHERE x.indrelid = 'rooms'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	everyBeat := []string{"state", "devices", "last_seen", "link", "uptime", "health", "ota"}
	indexes := 0
	for rows.Next() {
		var index, column string
		if err := rows.Scan(&index, &column); err != nil {
			t.Fatal(err)
		}
		indexes++
		if slices.Contains(everyBeat, column) {
			t.Errorf("index %s holds rooms.%s, which every heartbeat rewrites", index, column)
		}
	}
	if err := rows.Err(); err != nil || indexes == 0 {
		t.Fatalf("read %d index columns of rooms: %v", indexes, err)
	}
}

func TestPostgresMigrate(t *testing.T) {
	ms, err := loadMigrations(postgres)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bad := migration{version: len(ms) + 1, name: "bad.sql",
		sql: "CREATE TABLE half_done (x BIGINT); ALTER TABLE rooms ADD COLUMN half BIGINT; SELECT no_such_function();"}
	for _, tc := range []struct {
		name    string
		prepare func(db *sql.DB)
		steps   []migration
		wantErr string
		want    int // schema version after
	}{
		{"fresh", nil, ms, "", len(ms)},
		{"again: nothing to do", func(db *sql.DB) { migratePostgres(ctx, db, ms) }, ms, "", len(ms)},
		{"a step fails halfway: the schema before it stays", func(db *sql.DB) { migratePostgres(ctx, db, ms) },
			append(append([]migration{}, ms...), bad), fmt.Sprintf("migration %d (bad.sql)", len(ms)+1), len(ms)},
		{"a newer database is refused", func(db *sql.DB) {
			migratePostgres(ctx, db, ms)
			db.Exec("INSERT INTO schema_migrations (version, name, applied) VALUES ($1, 'future.sql', 0)", len(ms)+1)
		}, ms, "newer than this portal", len(ms) + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := emptyPostgres(t)
			if tc.prepare != nil {
				tc.prepare(db)
			}
			err := migratePostgres(ctx, db, tc.steps)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("migrate: %v, want %q", err, tc.wantErr)
			}
			vs := pgVersions(t, db)
			if len(vs) != tc.want || vs[len(vs)-1] != tc.want {
				t.Errorf("versions %v, want 1…%d", vs, tc.want)
			}
			var n int
			if err := db.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_name = 'half_done'").Scan(&n); err != nil || n != 0 {
				t.Errorf("half_done tables: %d (%v): the failed step left a part behind", n, err)
			}
			if err := db.QueryRow("SELECT count(*) FROM information_schema.columns WHERE table_name = 'rooms' AND column_name = 'half'").Scan(&n); err != nil || n != 0 {
				t.Errorf("rooms.half columns: %d (%v): the failed step left a part behind", n, err)
			}
		})
	}
}

// TestPostgresMigrateTogether: replicas starting together on a fresh
// database apply each step once and all come up.
func TestPostgresMigrateTogether(t *testing.T) {
	dsn := pgtest.Database(t, "")
	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := openPostgres(context.Background(), dsn, nil, 0)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if vs := pgVersions(t, db); len(vs) != len(migrations) {
		t.Errorf("versions %v, want each of 1…%d once", vs, len(migrations))
	}
}

// TestPostgresUnreachable: a portal whose PostgreSQL does not answer
// tries again, then says where it tried, never with the password.
func TestPostgresUnreachable(t *testing.T) {
	logs := new(bytes.Buffer)
	dsn := "postgres://portal:s3cret-pw@/portal?host=" + t.TempDir() + "&connect_timeout=1"
	_, err := New(Config{DB: dsn, DBWait: time.Second, URL: "http://127.0.0.1",
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err == nil {
		t.Fatal("New on a database that does not answer: no error")
	}
	msg := err.Error()
	for _, want := range []string{"connect to PostgreSQL at socket /", `database "portal"`, "gave up after 1s"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg+logs.String(), "s3cret-pw") {
		t.Errorf("the password shows: %s\n%s", msg, logs)
	}
	if !strings.Contains(logs.String(), "trying again") {
		t.Errorf("no retry logged: %s", logs)
	}
}

func TestPostgresBadDSN(t *testing.T) {
	for _, dsn := range []string{"postgres://u:pw@host:notaport/db", "mysql://x"} {
		_, err := New(Config{DB: dsn, URL: "http://127.0.0.1"})
		if err == nil || strings.Contains(err.Error(), "pw@") {
			t.Errorf("New(DB: %q): %v", dsn, err)
		}
	}
}

// TestPostgresDown: while PostgreSQL is away, admin and kit requests
// that need it get 503 with Retry-After and words a person can act on,
// heartbeats too: on PostgreSQL a heartbeat answered is a heartbeat
// stored (replicas, docs/replicas.md), so the kit keeps the one the
// portal could not store and sends it again once the database is back.
func TestPostgresDown(t *testing.T) {
	pgtest.Need(t)
	pg, err := pgtest.Start(context.Background()) // its own: this test stops it
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	name, err := pg.CreateDatabase(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	e := startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DB: pg.DSN(name)}, nil)
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	_, fresh := e.pairKit(e.newKit(), "Huddle") // its token not yet checked, so not in memory
	k := e.newKit()
	c.Advance(time.Minute)
	beat := c.Now().UnixMilli()
	if code, b := e.heartbeat(tok, goodHeartbeat); code != 200 { // stored before it is answered
		t.Fatalf("heartbeat: %d %s", code, b)
	}
	if err := pg.Halt(); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	for _, tc := range []struct {
		name string
		req  func() (int, http.Header, []byte)
	}{
		{"admin API", func() (int, http.Header, []byte) {
			return e.admin("POST", "/api/v1/admin/webhooks", `{"url":"https://hooks.example.com/x"}`)
		}},
		{"kit's heartbeat", func() (int, http.Header, []byte) {
			return e.do("POST", "/api/v1/device/heartbeat", "application/json", []byte(goodHeartbeat), map[string]string{"Authorization": "Bearer " + tok})
		}},
		{"kit's heartbeat, its token not in memory", func() (int, http.Header, []byte) {
			return e.do("POST", "/api/v1/device/heartbeat", "application/json", []byte(goodHeartbeat), map[string]string{"Authorization": "Bearer " + fresh})
		}},
		{"load balancer's readiness check", func() (int, http.Header, []byte) {
			return e.do("GET", "/readyz", "", nil, nil)
		}},
		{"kit asking to pair", func() (int, http.Header, []byte) {
			v := url.Values{"client_id": {provisioning.ClientID}, "device_label": {"kit"},
				"device_public_key": {provisioning.EncodePublicKey(k.key.Public().(ed25519.PublicKey))}}
			return e.do("POST", "/oauth/device_authorization", "application/x-www-form-urlencoded", []byte(v.Encode()), nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, b := tc.req()
			if code != 503 || hdr.Get("Retry-After") == "" || !strings.Contains(string(b), "cannot reach its database") {
				t.Errorf("%d (Retry-After %q) %s, want 503 saying the database is away", code, hdr.Get("Retry-After"), b)
			}
		})
	}

	// Back: the heartbeat answered before is there, the kit's next one
	// is stored, and requests work again.
	if err := pg.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	var seen int64
	if err := e.srv.db.QueryRow("SELECT last_seen FROM rooms WHERE id = ?", roomID).Scan(&seen); err != nil || seen != beat {
		t.Errorf("last_seen %d (%v), want the answered heartbeat's %d", seen, err, beat)
	}
	if code, b := e.heartbeat(tok, goodHeartbeat); code != 200 {
		t.Errorf("the kit's heartbeat after the database came back: %d %s", code, b)
	}
	if err := e.srv.db.QueryRow("SELECT last_seen FROM rooms WHERE id = ?", roomID).Scan(&seen); err != nil || seen != c.Now().UnixMilli() {
		t.Errorf("last_seen %d (%v), want the heartbeat's after the database came back %d", seen, err, c.Now().UnixMilli())
	}
	if code, _, b := e.admin("POST", "/api/v1/admin/webhooks", `{"url":"https://hooks.example.com/x"}`); code != 201 {
		t.Errorf("the admin API after the database came back: %d %s", code, b)
	}
	if code, _, b := e.do("GET", "/readyz", "", nil, nil); code != 200 {
		t.Errorf("/readyz after the database came back: %d %s", code, b)
	}
}
