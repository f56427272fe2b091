package portal

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"roomkit/internal/pgtest"
	"roomkit/profile"
)

// TestStoreConformance runs what the two engines could disagree on
// against both, whatever store the rest of the suite runs on: case rules
// (emails, names, search, filters), ordering, upserts, ids, blobs,
// booleans, and state kept over a restart.
func TestStoreConformance(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) func(dir string) (*sqlDB, error)
	}{
		{"sqlite", func(*testing.T) func(string) (*sqlDB, error) { return openDB }},
		{"postgres", func(t *testing.T) func(string) (*sqlDB, error) {
			dsn := pgtest.Database(t, "")
			return func(string) (*sqlDB, error) { return openPostgres(context.Background(), dsn, nil, 0) }
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			open := st.open(t)
			dir := t.TempDir()
			c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
			e := startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DataDir: dir, openDB: open}, nil)
			conformance(t, e)
			// A restart keeps what was stored, lockouts included.
			e.ts.Close()
			e.srv.Close()
			e2 := startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DataDir: dir, openDB: open}, nil)
			if wait := e2.srv.wrongCodes.check(c.Now(), "192.0.2.9"); wait <= 0 {
				t.Errorf("after a restart, the pairing-code lockout was forgotten (wait %v)", wait)
			}
			rs, err := e2.srv.fleetRooms(fleetQuery{Sort: sortName}, nil)
			if err != nil || rs.Total != 3 {
				t.Errorf("rooms after a restart: %d (%v), want 3", rs.Total, err)
			}
		})
	}
}

func conformance(t *testing.T, e *env) {
	s := e.srv
	ids := map[string]string{}
	for _, r := range []struct{ name, location string }{{"beta", "Annex"}, {"Alpha", "annex"}, {"gamma_1", "HQ"}} {
		id, tok := e.pairKit(e.newKit(), r.name)
		ids[r.name] = id
		if _, err := s.db.Exec("UPDATE rooms SET location = ? WHERE id = ?", r.location, id); err != nil {
			t.Fatal(err)
		}
		if code, b := e.heartbeat(tok, goodHeartbeat); code != 200 {
			t.Fatalf("heartbeat: %d %s", code, b)
		}
	}
	if err := s.flushLive(); err != nil {
		t.Fatal(err)
	}
	names := func(f fleetQuery) []string {
		t.Helper()
		res, err := s.fleetRooms(f, nil)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		var ns []string
		for _, r := range res.Rooms {
			ns = append(ns, r.Name)
		}
		return ns
	}
	for _, tc := range []struct {
		name string
		f    fleetQuery
		want []string
	}{
		{"by name, any case", fleetQuery{Sort: sortName}, []string{"Alpha", "beta", "gamma_1"}},
		{"search, any case", fleetQuery{Sort: sortName, Q: "ALP"}, []string{"Alpha"}},
		{"search, _ is a letter", fleetQuery{Sort: sortName, Q: "a_"}, []string{"gamma_1"}},
		{"location, any case", fleetQuery{Sort: sortName, Location: "ANNEX"}, []string{"Alpha", "beta"}},
		{"paged", fleetQuery{Sort: sortName, Page: 2, PerPage: 2}, []string{"gamma_1"}},
	} {
		if got := names(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	counts, err := s.countFleet(nil)
	if err != nil || counts.Rooms != 3 || counts.Offline != 0 {
		t.Errorf("counts: %+v (%v)", counts, err)
	}
	choices, err := s.fleetChoices(nil)
	if err != nil || len(choices.Locations) != 2 {
		t.Errorf("locations offered: %q (%v), want Annex once and HQ", choices.Locations, err)
	}

	// Emails and profile names are unique in any case.
	if err := s.CreateAdmin("Ada@Example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAdmin("ada@example.COM", "correct4horse"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("the same email in another case: %v", err)
	}
	owner := principal{actor: "Ada@Example.com", role: RoleOwner}
	pv, herr := s.createProfile(owner, "", "Standard", profile.Values{})
	if herr != nil {
		t.Fatal(herr)
	}
	if _, herr := s.createProfile(owner, "", "STANDARD", profile.Values{}); herr == nil || herr.status != 409 {
		t.Errorf("the same profile name in another case: %v", herr)
	}
	pv2, herr := s.createProfile(owner, "", "Second", profile.Values{})
	if herr != nil || pv2.ID <= pv.ID {
		t.Errorf("ids: %d then %d (%v)", pv.ID, pv2.ID, herr)
	}

	// The audit log filters by a part of the actor, any case.
	var actors []string
	if err := s.eachAudit(auditFilter{Actor: "ADA@"}, 10, func(a auditEntry) error {
		actors = append(actors, a.Actor)
		return nil
	}); err != nil || len(actors) == 0 {
		t.Errorf("audit by actor: %q (%v)", actors, err)
	}

	// Blobs and booleans round-trip.
	var pub []byte
	if err := s.db.QueryRow("SELECT public_key FROM rooms WHERE id = ?", ids["Alpha"]).Scan(&pub); err != nil || len(pub) != 32 {
		t.Errorf("public key: %x (%v)", pub, err)
	}
	var n int
	if err := s.db.QueryRow("SELECT count(*) FROM rooms WHERE public_key = x'00' OR ? = 1", true).Scan(&n); err != nil || n != 3 {
		t.Errorf("a boolean argument: %d (%v)", n, err)
	}

	// Six wrong pairing codes lock the address out; the lockout is
	// stored (an upsert per flush) for the restart.
	for range 6 {
		s.wrongCodes.fail(e.clock.Now(), "192.0.2.9")
	}
	if err := flushLockouts(s.db, s.lockouts()...); err != nil {
		t.Fatal(err)
	}
	for range 2 { // again: the rows exist now
		s.wrongCodes.fail(e.clock.Now(), "192.0.2.9")
		if err := flushLockouts(s.db, s.lockouts()...); err != nil {
			t.Fatal(err)
		}
	}
}
