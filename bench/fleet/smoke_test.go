package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"roomkit/portal"
	"roomkit/portal/sfu"
	"roomkit/portalapi"
)

// testPortal is one in-process portal answering on two loopback
// listeners, which the fleet takes for two replicas: what the spreading
// is tested against. (Two portal processes sharing one database are the
// PostgreSQL work's; this proves the simulator spreads its requests.)
type testPortal struct {
	urls  []string
	token string
	// requests counts what each listener answered; heartbeats counts
	// the heartbeats over both, and calls onHeartbeat with the total.
	requests    []atomic.Int64
	heartbeats  atomic.Int64
	onHeartbeat atomic.Pointer[func(n int64)]
}

// startPortal starts the portal; withLiveKit runs a real livekit-server
// for its meetings (skipped where it is not installed, failed in CI).
func startPortal(t *testing.T, withLiveKit bool) *testPortal {
	t.Helper()
	tp := &testPortal{requests: make([]atomic.Int64, 2)}
	servers := []*httptest.Server{httptest.NewUnstartedServer(nil), httptest.NewUnstartedServer(nil)}
	base := "http://" + servers[0].Listener.Addr().String()
	cfg := portal.Config{DataDir: t.TempDir(), URL: base}
	if withLiveKit {
		if _, err := sfu.FindBinary(); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%v (CI is set, so setup should have installed it)", err)
			}
			t.Skipf("%v; skipping the run with meetings", err)
		}
		lk, err := sfu.Start(t.Context(), sfu.Options{Logger: slog.New(slog.DiscardHandler), WebhookURL: base + portal.WebhookPath})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lk.Stop() })
		cfg.LiveKit = portal.LiveKit{URL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret}
	}
	srv, err := portal.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	for i, ts := range servers {
		ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tp.requests[i].Add(1)
			h.ServeHTTP(w, r)
			if r.URL.Path == portalapi.HeartbeatPath {
				n := tp.heartbeats.Add(1)
				if f := tp.onHeartbeat.Load(); f != nil {
					(*f)(n)
				}
			}
		})
		ts.Start()
		tp.urls = append(tp.urls, ts.URL)
	}
	t.Cleanup(func() {
		for _, ts := range servers {
			ts.Close()
		}
		srv.Close()
	})
	if tp.token, err = srv.CreateAPIToken("fleet test"); err != nil {
		t.Fatal(err)
	}
	return tp
}

func (tp *testPortal) options(kits int) options {
	return options{Portal: strings.Join(tp.urls, ","), AdminToken: tp.token, Kits: kits, PairConc: 3, Inflight: 4,
		Habits: defaultHabits, Timeout: 30 * time.Second, Cleanup: true}
}

// rooms lists the portal's rooms through the admin API.
func (tp *testPortal) rooms(t *testing.T) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, tp.urls[0]+"/api/v1/admin/rooms", nil)
	req.Header.Set("Authorization", "Bearer "+tp.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rooms []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&rooms); err != nil {
		t.Fatal(err)
	}
	return rooms
}

// TestReplayWithMeetings runs the whole program's path against a portal
// with LiveKit: a few kits pair from two source addresses through both
// listeners, replay eight heartbeats each with a Meet Now at every one,
// and the table says so; the rooms are gone afterwards.
func TestReplayWithMeetings(t *testing.T) {
	tp := startPortal(t, true)
	opt := tp.options(4)
	opt.Sources = 2
	opt.Replay = 8 * opt.Habits.Interval
	opt.Habits.MeetingsPerDay = 24 * time.Hour.Seconds() / opt.Habits.Interval.Seconds() // one at every heartbeat
	opt.Habits.UnplugsPerDay = opt.Habits.MeetingsPerDay / 2
	var out, progress bytes.Buffer
	if err := run(t.Context(), opt, "", 0, nil, &out, &progress); err != nil {
		t.Fatalf("%v\n%s%s", err, progress.String(), out.String())
	}
	table := out.String()
	for _, want := range []string{
		"portals          2",
		"kits paired      4 of 4 (from 2 source addresses)",
		"heartbeats       32 answered, 0 failed",
		"meetings         32 started and ended",
		"simulated        2m0s of heartbeats per kit",
		"after pairing (portal /metrics portal_store_bytes)",
		"CPU simulator    ",
		"CPU in all       ",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "errors:") {
		t.Errorf("the run had errors:\n%s", table)
	}
	for i := range tp.requests {
		if tp.requests[i].Load() == 0 {
			t.Errorf("replica %d answered no request: the fleet did not spread", i+1)
		}
	}
	if rooms := tp.rooms(t); len(rooms) != 0 {
		t.Errorf("%d rooms left after the cleanup", len(rooms))
	}
}

// TestSustainedWithoutMeetings: a portal without LiveKit says meetings
// are off once, and the fleet stops asking; the sustained phase ends
// when its context does (here: once the portal has answered 40
// heartbeats), and what was answered is counted.
func TestSustainedWithoutMeetings(t *testing.T) {
	tp := startPortal(t, false)
	opt := tp.options(3)
	opt.Duration = time.Hour // ended by the test, at an event
	opt.Habits.MeetingsPerDay = 24 * time.Hour.Seconds() / opt.Habits.Interval.Seconds()
	s, err := newSim(opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := s.pairAll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(s.kits) != 3 {
		t.Fatalf("%d kits paired, want 3", len(s.kits))
	}
	stopAt40 := func(n int64) {
		if n >= 40 {
			cancel()
		}
	}
	tp.onHeartbeat.Store(&stopAt40)
	lr := s.load(ctx)
	// Up to Inflight answers are cut off by the end.
	if lr.Heartbeats < 40-int64(s.opt.Inflight) || lr.Failed != 0 || s.errs[opMeeting].total() != 0 {
		t.Errorf("load: %+v, meeting errors %+v, heartbeat errors %+v", lr, s.errs[opMeeting].sorted(), s.errs[opHeartbeat].sorted())
	}
	if !s.meetingsOff.Load() || lr.Meetings != 0 {
		t.Errorf("meetings off %v, %d started: want the portal's 503 noticed", s.meetingsOff.Load(), lr.Meetings)
	}
	if n, src := s.dbSize(t.Context(), ""); n <= 0 || src == "" {
		t.Errorf("database size %d from %q", n, src)
	}
	var out bytes.Buffer
	summary{Replicas: 2, Kits: 3, Paired: 3, Sources: 1, Load: lr, Mode: "test", HB: &s.hb, Pair: &s.pairing, Meet: &s.meet,
		MeetingsOff: true}.print(&out)
	if !strings.Contains(out.String(), "off on this portal") {
		t.Errorf("the table does not say meetings are off:\n%s", out.String())
	}
	if err := s.unpairAll(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestExpiredTokenIsRefreshed: a kit whose access token the portal no
// longer takes gets a new one with a client assertion and its heartbeat
// goes through, as the appliance's link does.
func TestExpiredTokenIsRefreshed(t *testing.T) {
	tp := startPortal(t, false)
	opt := tp.options(1)
	opt.Replay = 2 * opt.Habits.Interval
	s, err := newSim(opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pairAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.kits[0].tok.AccessToken = "rkd_not-a-token" // invalid_token at the first heartbeat
	lr := s.load(t.Context())
	if lr.Heartbeats != 2 || lr.Failed != 0 || s.refreshes.Load() != 1 {
		t.Errorf("load %+v, %d refreshes; errors %+v", lr, s.refreshes.Load(), s.errs[opHeartbeat].sorted())
	}
}

// TestPortalDown: pairing against a portal that is not there fails with
// the reason, rather than hanging or reporting an empty table.
func TestPortalDown(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close() // nothing listens there now
	opt := options{Portal: url, AdminToken: "rka_x", Kits: 2, PairConc: 2, Inflight: 2, Duration: time.Second,
		Habits: defaultHabits, Timeout: 5 * time.Second}
	err := run(t.Context(), opt, "", 0, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no kit paired") || !strings.Contains(err.Error(), "portal unreachable") {
		t.Errorf("run against no portal: %v", err)
	}
}
