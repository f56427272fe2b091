// Package pgtest runs a throw-away PostgreSQL for tests: Debian's initdb
// and postgres in a temporary directory, listening only on a unix socket
// in that directory (no TCP port to collide on), one cluster per test
// binary and a fresh database per test.
//
// Tests run as root here and in CI, and PostgreSQL refuses to run as
// root: then the cluster runs as an unprivileged user (postgres, which
// Debian's package creates, else nobody) that owns the directory.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"roomkit/internal/proctest"
)

// ErrNotInstalled is what Start answers when PostgreSQL's server binaries
// are missing (scripts/setup-test.sh installs them).
var ErrNotInstalled = errors.New("PostgreSQL's server (Debian's postgresql package) is not installed; scripts/setup-test.sh installs it")

// superuser is the cluster's superuser, whom tests connect as.
const superuser = "pgtest"

// Server is a running throw-away cluster.
type Server struct {
	dir   string // holds data/ and the socket
	bin   string
	owner *owner
	proc  *proctest.Proc // nil while halted
	seq   atomic.Int64
}

// BinDir is where initdb and postgres are: $ROOMKIT_PG_BIN, else the
// newest /usr/lib/postgresql/N/bin.
func BinDir() (string, error) {
	if d := os.Getenv("ROOMKIT_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start makes a cluster in a new temporary directory and starts it,
// returning once it accepts connections.
func Start(ctx context.Context) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	// A socket's path must fit in 107 bytes: a short base. Under root the
	// cluster's user must reach it, which a private $TMPDIR may not let.
	base := os.TempDir()
	if len(base) > 60 || os.Geteuid() == 0 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{dir: dir, bin: bin}
	if err := s.start(ctx, bin); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, bin string) error {
	owner, err := runAs()
	if err != nil {
		return err
	}
	s.owner = owner
	if owner != nil {
		if err := os.Chown(s.dir, int(owner.Uid), int(owner.Gid)); err != nil {
			return fmt.Errorf("pgtest: give %s to the cluster's user: %w", s.dir, err)
		}
	}
	data := filepath.Join(s.dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", superuser,
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.Dir = s.dir
	initdb.SysProcAttr = procAttr(owner)
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w: %s", err, out)
	}
	return s.Resume(ctx)
}

// Resume starts the halted cluster again, returning once it accepts
// connections.
func (s *Server) Resume(ctx context.Context) error {
	if s.proc != nil {
		return errors.New("pgtest: the cluster runs already")
	}
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", filepath.Join(s.dir, "data"), "-k", s.dir,
		"-c", "listen_addresses=", // the socket only
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=400", "-c", "shared_buffers=32MB",
		"-c", "logging_collector=off",
		"-c", "log_min_error_statement=panic") // tests provoke errors on purpose
	cmd.Dir = s.dir
	cmd.SysProcAttr = procAttr(s.owner)
	// The postmaster's own word that it is ready; SIGINT is a fast shutdown.
	p, err := proctest.Start(ctx, cmd, "ready to accept connections", stopSignal)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	s.proc = p
	return nil
}

// Halt stops the cluster (a fast shutdown: clients are disconnected)
// and keeps its data for Resume.
func (s *Server) Halt() error {
	if s.proc == nil {
		return nil
	}
	// A fast shutdown takes well under a second; a minute means it hangs.
	err := s.proc.Stop(time.Minute)
	s.proc = nil
	if err != nil && !isSignalExit(err) {
		return fmt.Errorf("pgtest: postgres: %w", err)
	}
	return nil
}

// DSN is the address of database name on s.
func (s *Server) DSN(name string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s&sslmode=disable", superuser, name, s.dir)
}

// Dir is the cluster's directory (its socket is there).
func (s *Server) Dir() string { return s.dir }

// CreateDatabase makes a new database, a copy of template ("": an empty
// one), and returns its name.
func (s *Server) CreateDatabase(ctx context.Context, template string) (string, error) {
	name := fmt.Sprintf("t%d", s.seq.Add(1))
	q := "CREATE DATABASE " + name
	if template != "" {
		q += " TEMPLATE " + template
	}
	if err := s.Exec(ctx, "postgres", q); err != nil {
		return "", err
	}
	return name, nil
}

// Exec runs statements in database db as the superuser.
func (s *Server) Exec(ctx context.Context, db, stmts string) error {
	conn, err := sql.Open("pgx", s.DSN(db))
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, stmts); err != nil {
		return fmt.Errorf("pgtest: %s: %w", stmts, err)
	}
	return nil
}

// Stop ends the cluster (a fast shutdown) and removes its directory.
func (s *Server) Stop() error {
	err := s.Halt()
	if e := os.RemoveAll(s.dir); e != nil && err == nil {
		err = e
	}
	return err
}

// runAs is the user to run PostgreSQL as: nil for this process's own,
// or, under root, postgres or nobody.
func runAs() (*owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		return &owner{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("pgtest: running as root, and there is no postgres or nobody user to run PostgreSQL as")
}

type owner struct{ Uid, Gid uint32 }

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared is the test binary's cluster, started on first use; Main stops it.
func Shared() (*Server, error) {
	sharedOnce.Do(func() { shared, sharedErr = Start(context.Background()) })
	return shared, sharedErr
}

// Main runs a test binary's tests (call it from TestMain as
// os.Exit(pgtest.Main(m))) and stops the shared cluster afterwards.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	return code
}

// Need is the shared cluster, or the test's end: skipped when PostgreSQL
// is not installed, failed when it is and does not start — and failed
// either way under CI (CI set), where a skip would hide the missing part.
func Need(tb testing.TB) *Server {
	tb.Helper()
	s, err := Shared()
	switch {
	case err == nil:
		return s
	case errors.Is(err, ErrNotInstalled) && os.Getenv("CI") == "":
		tb.Skipf("skipping: %v", err)
	default:
		tb.Fatal(err)
	}
	return nil
}

// Database is a fresh database on the shared cluster, a copy of template
// ("": empty), for tb; its DSN.
func Database(tb testing.TB, template string) string {
	tb.Helper()
	s := Need(tb)
	name, err := s.CreateDatabase(context.Background(), template)
	if err != nil {
		tb.Fatal(err)
	}
	return s.DSN(name)
}
