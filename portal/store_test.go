package portal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"roomkit/internal/pgtest"
)

// testStore is the store the suite runs on: ROOMKIT_TEST_STORE=postgres
// runs every test that opens a portal on a throw-away PostgreSQL
// (internal/pgtest), a database per data directory; else SQLite.
var testStore = os.Getenv("ROOMKIT_TEST_STORE")

func TestMain(m *testing.M) {
	switch testStore {
	case "", "sqlite":
	case "postgres":
		if _, err := pgtest.Shared(); err != nil {
			if errors.Is(err, pgtest.ErrNotInstalled) && os.Getenv("CI") == "" {
				fmt.Fprintf(os.Stderr, "ROOMKIT_TEST_STORE=postgres: skipping the portal's tests: %v\n", err)
				os.Exit(0)
			}
			fmt.Fprintf(os.Stderr, "ROOMKIT_TEST_STORE=postgres: %v\n", err)
			os.Exit(1)
		}
		openDefault = openTestPostgres
	default:
		fmt.Fprintf(os.Stderr, "ROOMKIT_TEST_STORE=%q: want sqlite or postgres\n", testStore)
		os.Exit(2)
	}
	os.Exit(pgtest.Main(m))
}

// onPostgres says whether the suite runs on PostgreSQL.
func onPostgres() bool { return testStore == "postgres" }

// sqliteOnly skips a test about SQLite's own file, pragmas or migrations
// when the suite runs on PostgreSQL.
func sqliteOnly(t testing.TB) {
	t.Helper()
	if onPostgres() {
		t.Skip("about SQLite's database file; the suite runs on PostgreSQL")
	}
}

// migrationWith is the index of the first SQLite migration that contains
// marker: tests find a migration by content, since the lead may renumber
// migrations at a merge.
func migrationWith(t testing.TB, marker string) int {
	t.Helper()
	n := slices.IndexFunc(migrations, func(m migration) bool { return strings.Contains(m.sql, marker) })
	if n < 1 {
		t.Fatalf("no migration after the first contains %q", marker)
	}
	return n
}

// oldDatabase makes dir/portal.db as a portal with the first n SQLite
// migrations left it, and returns it open for the test to add what such a
// portal stored.
func oldDatabase(t testing.TB, dir string, n int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations[:n] {
		if _, err := db.Exec(m.sql); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
		t.Fatal(err)
	}
	return db
}

var (
	pgDirs     sync.Map // data directory → its database's DSN
	pgTemplate struct {
		once sync.Once
		name string
		err  error
	}
)

// pgTemplateDB is a database with the portal's schema, which each test's
// database copies (faster than migrating each).
func pgTemplateDB(s *pgtest.Server) (string, error) {
	pgTemplate.once.Do(func() {
		ctx := context.Background()
		name, err := s.CreateDatabase(ctx, "")
		if err == nil {
			var db *sqlDB
			if db, err = openPostgres(ctx, s.DSN(name), nil, 0); err == nil {
				err = db.Close()
			}
		}
		pgTemplate.name, pgTemplate.err = name, err
	})
	return pgTemplate.name, pgTemplate.err
}

// openTestPostgres stands for openDB: the data directory names a
// database of its own, made on first use, so a test reopening a portal
// on the same directory finds its state again.
func openTestPostgres(dir string) (*sqlDB, error) {
	s, err := pgtest.Shared()
	if err != nil {
		return nil, err
	}
	dsn, ok := pgDirs.Load(dir)
	if !ok {
		tmpl, err := pgTemplateDB(s)
		if err != nil {
			return nil, err
		}
		name, err := s.CreateDatabase(context.Background(), tmpl)
		if err != nil {
			return nil, err
		}
		dsn, _ = pgDirs.LoadOrStore(dir, s.DSN(name))
	}
	return openPostgres(context.Background(), dsn.(string), nil, 0)
}
