package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roomkit/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestStoreCommands: portal migrate, then a SQLite portal moved to
// PostgreSQL with db export and db import; an administrator made on the
// SQLite one is on the PostgreSQL one after.
func TestStoreCommands(t *testing.T) {
	data := t.TempDir()
	dsn := pgtest.Database(t, "")
	dump := filepath.Join(t.TempDir(), "portal.dump")
	storeRun := func(stdin string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := storeCommand(args, cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut})
		return out.String() + errOut.String(), err
	}
	for _, tc := range []struct {
		name    string
		stdin   string
		args    []string
		wantOut string
		wantErr string
	}{
		{"migrate SQLite", "", []string{"migrate", "-data", data}, "schema up to date", ""},
		{"migrate PostgreSQL", "", []string{"migrate", "-db", dsn}, "schema up to date", ""},
		{"migrate nothing", "", []string{"migrate"}, "", "needs -data (or -db)"},
		{"migrate both", "", []string{"migrate", "-data", data, "-db", dsn}, "", "not both"},
		{"migrate not postgres", "", []string{"migrate", "-db", "mysql://x"}, "", "postgres:// URL"},
		{"an admin on SQLite", "", nil, "", ""},
		{"export", "", []string{"db", "export", "-data", data, "-o", dump}, "", ""},
		{"export onto a file", "", []string{"db", "export", "-data", data, "-o", dump}, "", "file exists"},
		{"import", "", []string{"db", "import", "-db", dsn, "-i", dump}, "imported", ""},
		{"import again", "", []string{"db", "import", "-db", dsn, "-i", dump}, "", "not empty"},
		{"import garbage", "hello", []string{"db", "import", "-data", t.TempDir()}, "", "not a portal dump"},
		{"unknown", "", []string{"db", "drop"}, "", "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.args == nil {
				if _, _, err := run(t, "", "admin", "create", "-data", data, "-email", "a@example.com", "-password", "correct4horse"); err != nil {
					t.Fatal(err)
				}
				return
			}
			out, err := storeRun(tc.stdin, tc.args...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("portal %q: %v\n%s", tc.args, err, out)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("portal %q: %v, want an error saying %q", tc.args, err, tc.wantErr)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("portal %q printed %q, want %q", tc.args, out, tc.wantOut)
			}
		})
	}
	// The administrator moved: revoking their sessions on PostgreSQL finds them.
	if out, _, err := run(t, "", "admin", "revoke-sessions", "-db", dsn, "-email", "a@example.com"); err != nil || !strings.Contains(out, "signed out") {
		t.Errorf("the administrator on PostgreSQL: %q %v", out, err)
	}
}

// TestServeOnPostgres: portal -db serves from PostgreSQL without -data.
func TestServeOnPostgres(t *testing.T) {
	dsn := pgtest.Database(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-listen", "127.0.0.1:0", "-metrics-listen", "127.0.0.1:0", "-livekit", "off",
			"-db", dsn, "-assets", t.TempDir()},
			func(_, metrics net.Addr) { listening <- metrics })
	}()
	var metrics net.Addr
	select {
	case metrics = <-listening:
	case err := <-done:
		t.Fatalf("portal stopped before listening: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("portal: %v", err)
		}
	}()
	resp, err := http.Get("http://" + metrics.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || !strings.Contains(string(b), "portal_rooms_total 0") {
		t.Errorf("GET /metrics: %d %s", resp.StatusCode, b)
	}
}

func TestServeStoreFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-livekit", "off"}, "-data is required (or -db postgres://…)"},
		{[]string{"-db", "postgres://u@127.0.0.1/db"}, "-livekit dev keeps the local LiveKit's files under -data"},
		{[]string{"-db", "mysql://u@127.0.0.1/db", "-livekit", "off"}, "must be a postgres:// URL"},
	} {
		err := serve(context.Background(), append([]string{"-listen", "127.0.0.1:0"}, tc.args...), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("portal %q: %v, want %q", tc.args, err, tc.want)
		}
	}
}
