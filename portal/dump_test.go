package portal

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roomkit/internal/pgtest"
)

// storeSnapshot is what must survive a move between stores: every room
// with its key binding, every meeting, the administrators and the
// profiles, as text to compare.
func storeSnapshot(t *testing.T, db *sqlDB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		"SELECT id, name, location, time_zone, device_id, public_key, label, state, grp, last_seen, created FROM rooms ORDER BY id",
		"SELECT id, room_id, title, instant, start_local, minutes, recurrence, locked, ended, created FROM meetings ORDER BY id",
		"SELECT id, email, pw_hash, role FROM admins ORDER BY id",
		"SELECT hash, room_id, expires FROM access_tokens ORDER BY room_id, expires",
		"SELECT id, name, config FROM profiles ORDER BY id",
		"SELECT count(*) FROM audit",
		"SELECT id FROM rooms ORDER BY rowid", // the fleet view's order
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(&b, "%x|", fmt.Sprint(v))
			}
			b.WriteString("\n")
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

// TestExportImport moves a SQLite portal to PostgreSQL: no room, key
// binding, meeting or administrator lost, the kits' tokens still work,
// and new rows get fresh ids.
func TestExportImport(t *testing.T) {
	dsn := pgtest.Database(t, "")
	dir := t.TempDir()
	src := newFakeMeetingEnv(t, Config{DataDir: dir, openDB: openDB}) // SQLite whatever the suite runs on
	src.schedule(scheduleRequest{Title: "Weekly sync", Start: "2026-11-09T09:30", Minutes: 30, Recurrence: "weekly"})
	src.meetNow()
	_, tok := src.pairKit(src.newKit(), "Huddle")
	if code, b := src.heartbeat(tok, goodHeartbeat); code != 200 {
		t.Fatalf("heartbeat: %d %s", code, b)
	}
	if err := src.srv.CreateAdmin("Owner@Example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	if code, _, b := src.admin("POST", "/api/v1/admin/profiles", `{"name":"Standard","values":{"language":"en"}}`); code != 201 {
		t.Fatalf("profile: %d %s", code, b)
	}
	src.ts.Close()
	if err := src.srv.Close(); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	from, err := OpenStore(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer from.Close()
	want := storeSnapshot(t, from.db)
	if rows := strings.Count(want, "\n"); rows < 15 { // 2 rooms, 2 meetings, 2 admins, 2 tokens, 1 profile, 6 ends
		t.Fatalf("the SQLite portal holds too little to test with (%d lines):\n%s", rows, want)
	}
	var dump bytes.Buffer
	if err := from.Export(ctx, &dump); err != nil {
		t.Fatal(err)
	}
	to, err := OpenStore(Config{DB: dsn})
	if err != nil {
		t.Fatal(err)
	}
	n, err := to.Import(ctx, bytes.NewReader(dump.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got := storeSnapshot(t, to.db); got != want {
		t.Errorf("after the import (%d rows):\n%s\nwant\n%s", n, got, want)
	}
	if _, err := to.Import(ctx, bytes.NewReader(dump.Bytes())); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a second import: %v, want a refusal", err)
	}
	// And back: PostgreSQL to a new SQLite portal, after a heartbeat's
	// kind of update wrote the first room's row anew (PostgreSQL then
	// reads it last in a plain scan).
	if _, err := to.db.Exec("UPDATE rooms SET last_seen = last_seen WHERE rowid = (SELECT min(rowid) FROM rooms)"); err != nil {
		t.Fatal(err)
	}
	var back bytes.Buffer
	if err := to.Export(ctx, &back); err != nil {
		t.Fatal(err)
	}
	to.Close()
	again, err := OpenStore(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := again.Import(ctx, &back); err != nil {
		t.Fatal(err)
	}
	if got := storeSnapshot(t, again.db); got != want {
		t.Errorf("back on SQLite:\n%s\nwant\n%s", got, want)
	}

	// A portal on the PostgreSQL copy: the kit's token works, the admin
	// signs in, and new rows get ids after the imported ones.
	c := &clock{t: time.Date(2026, 11, 2, 9, 5, 0, 0, time.UTC)}
	dst := startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DB: dsn}, nil)
	if code, b := dst.heartbeat(tok, goodHeartbeat); code != 200 {
		t.Errorf("the kit's token after the move: %d %s", code, b)
	}
	if got := dst.signInFrom("192.0.2.1", "owner@example.com", "correct4horse"); got.status != 303 && got.status != 200 {
		t.Errorf("sign-in after the move: %+v", got)
	}
	if code, _, b := dst.admin("POST", "/api/v1/admin/profiles", `{"name":"Second","values":{"language":"de"}}`); code != 201 {
		t.Errorf("a new profile after the move: %d %s", code, b)
	}
}

func TestImportBadInput(t *testing.T) {
	dsn := pgtest.Database(t, "")
	to, err := OpenStore(Config{DB: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer to.Close()
	header := fmt.Sprintf(`{"roomkit_dump":"1","schema":%d,"dialect":"sqlite"}`, len(migrations))
	for _, tc := range []struct{ name, dump, want string }{
		{"empty", "", "not a portal dump"},
		{"not a dump", `{"hello":1}`, "not a portal dump"},
		{"another schema", `{"roomkit_dump":"1","schema":3}`, "schema version 3"},
		{"unknown table", header + "\n" + `{"table":"secrets","row":{"a":1}}`, `unknown table "secrets"`},
		{"bad column", header + "\n" + `{"table":"jtis","row":{"jti; DROP TABLE rooms":1}}`, "bad column name"},
		{"bad bytes", header + "\n" + `{"table":"sessions","bytes":{"hash":"!!"}}`, "illegal base64"},
		{"broken line", header + "\n{", "line 2"},
		{"half valid: nothing stays", header + "\n" + `{"table":"jtis","row":{"jti":"a","expires":1}}` + "\n" + `{"table":"jtis","row":{"jti":"a","expires":1}}`, "line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := to.Import(context.Background(), strings.NewReader(tc.dump))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("import: %v, want %q", err, tc.want)
			}
			var n int
			if err := to.db.QueryRow("SELECT count(*) FROM jtis").Scan(&n); err != nil || n != 0 {
				t.Errorf("jtis after a failed import: %d (%v)", n, err)
			}
		})
	}
}
