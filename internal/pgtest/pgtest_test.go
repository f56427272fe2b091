package pgtest

import (
	"context"
	"database/sql"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestDatabase: each database is fresh and a copy of its template.
func TestDatabase(t *testing.T) {
	s := Need(t)
	ctx := context.Background()
	tmpl, err := s.CreateDatabase(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, tmpl, "CREATE TABLE things (name TEXT); INSERT INTO things VALUES ('one')"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		template string
		want     int
	}{
		{"", 0},
		{tmpl, 1},
	} {
		db, err := sql.Open("pgx", Database(t, tc.template))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = db.QueryRow("SELECT count(*) FROM things").Scan(&n)
		if tc.template == "" {
			if err == nil {
				t.Errorf("an empty database has a things table")
			}
		} else if err != nil || n != tc.want {
			t.Errorf("copy of %s: %d things (%v), want %d", tc.template, n, err, tc.want)
		}
		db.Close()
	}
}

// TestStop: Stop ends the server and removes its directory.
func TestStop(t *testing.T) {
	Need(t) // skips without PostgreSQL
	s, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := s.Dir()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after Stop (%v)", dir, err)
	}
}

// TestHaltResume: a halted cluster refuses connections and keeps its
// data for Resume.
func TestHaltResume(t *testing.T) {
	Need(t)
	ctx := context.Background()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	name, err := s.CreateDatabase(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, name, "CREATE TABLE kept (n INT); INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	if err := s.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, name, "SELECT 1"); err == nil {
		t.Fatal("a halted cluster answered")
	}
	if err := s.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", s.DSN(name))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT n FROM kept").Scan(&n); err != nil || n != 7 {
		t.Errorf("after Resume: %d (%v), want 7", n, err)
	}
}
