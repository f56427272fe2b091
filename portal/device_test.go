package portal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestHeartbeat(t *testing.T) {
	e := newEnv(t)
	k := e.newKit()
	roomID, tok := e.pairKit(k, "Boardroom")
	for _, tc := range []struct {
		name   string
		auth   string
		ctype  string
		body   string
		code   int
		errHas string
	}{
		{"ok", "Bearer " + tok, "application/json", goodHeartbeat, 200, ""},
		{"no token", "", "application/json", goodHeartbeat, 401, "invalid_token"},
		{"unknown token", "Bearer nope", "application/json", goodHeartbeat, 401, "invalid_token"},
		{"basic auth", "Basic Zm9vOmJhcg==", "application/json", goodHeartbeat, 401, "invalid_token"},
		{"oversize", "Bearer " + tok, "application/json", `{"state":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "larger than 64 KiB"},
		{"unknown field", "Bearer " + tok, "application/json", `{"state":"ready","color":"blue"}`, 400, `unknown field "color"`},
		{"malformed", "Bearer " + tok, "application/json", `{"state":`, 400, "Bad heartbeat"},
		{"wrong type", "Bearer " + tok, "application/json", `{"state":"ready","uptime_seconds":"long"}`, 400, "uptime_seconds"},
		{"trailing data", "Bearer " + tok, "application/json", goodHeartbeat + `{}`, 400, "after the JSON object"},
		{"empty", "Bearer " + tok, "application/json", ``, 400, "empty"},
		{"no state", "Bearer " + tok, "application/json", `{"version":"1"}`, 400, "state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			code, _, b := e.do("POST", "/api/v1/device/heartbeat", tc.ctype, []byte(tc.body), hdr)
			if code != tc.code {
				t.Fatalf("status %d (%s), want %d", code, b, tc.code)
			}
			if tc.errHas != "" && !contains(errCode(t, b), tc.errHas) {
				t.Errorf("error %q does not say %q", errCode(t, b), tc.errHas)
			}
			if code == 200 {
				var a roomAnswer
				if err := json.Unmarshal(b, &a); err != nil || a.Room.ID != roomID || a.Room.Name != "Boardroom" {
					t.Errorf("answer %s", b)
				}
			}
		})
	}

	// The room list shows what the heartbeat reported, and online/offline.
	rooms := listRoomsAPI(t, e)
	if len(rooms) != 1 || !rooms[0].Online || rooms[0].State != "ready" || rooms[0].Version != "0.1.0" ||
		len(rooms[0].Devices) != 1 || rooms[0].Devices[0].Name != "Synthetic camera" {
		t.Fatalf("rooms after heartbeat: %+v", rooms)
	}
	e.clock.Advance(46 * time.Second)
	if rooms := listRoomsAPI(t, e); rooms[0].Online {
		t.Errorf("room still online 46 s after its last heartbeat")
	}

	// GET config answers the same room.
	code, _, b := e.do("GET", "/api/v1/device/config", "", nil, map[string]string{"Authorization": "Bearer " + tok})
	var a roomAnswer
	if json.Unmarshal(b, &a); code != 200 || a.Room.ID != roomID || a.Room.TimeZone != "Europe/Zurich" {
		t.Errorf("config: %d %s", code, b)
	}
}

func listRoomsAPI(t *testing.T, e *env) []Room {
	t.Helper()
	code, _, b := e.admin("GET", "/api/v1/admin/rooms", nil)
	if code != 200 {
		t.Fatalf("list rooms: %d %s", code, b)
	}
	var rooms []Room
	if err := json.Unmarshal(b, &rooms); err != nil {
		t.Fatal(err)
	}
	return rooms
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	k := e.newKit()
	_, tok := e.pairKit(k, "Boardroom")
	e.heartbeat(tok, goodHeartbeat)
	e.heartbeat(tok, goodHeartbeat)
	e.heartbeat("bad", goodHeartbeat)
	code, _, b := e.admin("GET", "/metrics", nil)
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`portal_http_requests_total{route="POST /api/v1/device/heartbeat",code="200"} 2`,
		`portal_http_requests_total{route="POST /api/v1/device/heartbeat",code="401"} 1`,
		"portal_heartbeats_total 2\n",
		`portal_pairing_attempts_total{outcome="paired"} 1`,
		"portal_rooms_total 1\n",
		"portal_rooms_online 1\n",
		"# TYPE portal_rooms_online gauge",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _, b := e.do("GET", path, "", nil, nil); code != 200 || strings.TrimSpace(string(b)) != "ok" {
			t.Errorf("%s: %d %q", path, code, b)
		}
	}
}

// BenchmarkHeartbeat measures one heartbeat through the whole handler
// (auth, parse, record, answer), without the network.
func BenchmarkHeartbeat(b *testing.B) {
	dir := b.TempDir()
	srv, err := New(Config{DataDir: dir, URL: "http://127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	// Pair directly through the store: the benchmark is about heartbeats.
	tx, _ := srv.db.Begin()
	tx.Exec(`INSERT INTO rooms (id, name, location, time_zone, device_id, public_key, label, state, created)
		VALUES ('rm_bench', 'Bench', '', 'UTC', 'dev', x'00', '', 'paired', 0)`)
	tx.Commit()
	tok, err := srv.issueAccessToken("rm_bench")
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	body := []byte(goodHeartbeat)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/api/v1/device/heartbeat", strings.NewReader(string(body)))
			req.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkHeartbeatRooms: many rooms' kits at once (64 in flight), as a
// fleet sends them: on PostgreSQL (ROOMKIT_TEST_STORE=postgres) the
// replicas' group commit batches what arrives while one batch commits.
func BenchmarkHeartbeatRooms(b *testing.B) {
	srv, err := New(Config{DataDir: b.TempDir(), URL: "http://127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	benchHeartbeats(b, benchRooms(b, srv, 500), srv.Handler())
}

// BenchmarkHeartbeatFleet is BenchmarkHeartbeatRooms with the body
// bench/fleet's kits send (health tree, update report): the portal's CPU
// per heartbeat over HTTP, without the network. Read allocs/op and a CPU
// profile rather than heartbeats/s on a loaded machine.
func BenchmarkHeartbeatFleet(b *testing.B) {
	srv, err := New(Config{DataDir: b.TempDir(), URL: "http://127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	benchHeartbeatBody(b, fleetHeartbeat, benchRooms(b, srv, 500), srv.Handler())
}

// fleetHeartbeat is what a bench/fleet kit sends once the portal's
// answers asked for the update report: the appliance's health tree.
const fleetHeartbeat = `{"state":"ready","version":"0.1.0","uptime_seconds":15,"devices":[{"kind":"camera","name":"Synthetic camera","present":true},{"kind":"speakerphone","name":"Synthetic speakerphone","present":true},{"kind":"display","name":"Synthetic display","present":true},{"kind":"input","name":"Synthetic touch","present":true}],"health":{"status":"degraded","checks":[{"name":"Network","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[{"name":"Portal","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[{"name":"Calendar","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[]},{"name":"Clock","status":"degraded","detail":"not yet compared with the portal's clock","since":"2026-11-02T09:00:15Z","checks":[]}]}]},{"name":"Display","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[]},{"name":"Touch","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[]},{"name":"Camera","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[]},{"name":"Speakerphone","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[{"name":"Microphone","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[]},{"name":"Speaker","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[]}]},{"name":"Audio thread","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[]},{"name":"Storage","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[]},{"name":"Updates","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[]}]},"update":{"state":"idle","target_version":"","error":"","channel":"stable"},"latency_ms":3}`

// benchRooms pairs n rooms directly through srv's store (the benchmarks
// are about heartbeats) and returns their kits' access tokens.
func benchRooms(b *testing.B, srv *Server, n int) []string {
	toks := make([]string, n)
	for i := range toks {
		id := fmt.Sprintf("rm_bench%03d", i)
		if _, err := srv.db.Exec(`INSERT INTO rooms (id, name, location, time_zone, device_id, public_key, label, state, created)
			VALUES (?, 'Bench', '', 'UTC', ?, ?, '', 'paired', 0)`, id, "dev"+id, []byte{byte(i), byte(i >> 8)}); err != nil {
			b.Fatal(err)
		}
		var err error
		if toks[i], err = srv.issueAccessToken(id); err != nil {
			b.Fatal(err)
		}
	}
	return toks
}

// benchHeartbeats sends heartbeats from the kits of toks, 64 in flight:
// the n-th goes to room n mod rooms through replica n/rooms mod
// replicas, so each room's next heartbeat reaches the next replica, as
// a load balancer without sticky sessions sends it. It reports the
// heartbeats per second and the 99th percentile of their latency.
func benchHeartbeats(b *testing.B, toks []string, replicas ...http.Handler) {
	benchHeartbeatBody(b, goodHeartbeat, toks, replicas...)
}

// benchHeartbeatBody is benchHeartbeats with the heartbeat body given.
func benchHeartbeatBody(b *testing.B, body string, toks []string, replicas ...http.Handler) {
	var next atomic.Int64
	var mu sync.Mutex
	var took []time.Duration
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			n := next.Add(1)
			h := replicas[(n/int64(len(toks)))%int64(len(replicas))]
			req := httptest.NewRequest("POST", "/api/v1/device/heartbeat", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+toks[n%int64(len(toks))])
			w := httptest.NewRecorder()
			t0 := time.Now()
			h.ServeHTTP(w, req)
			mine = append(mine, time.Since(t0))
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		mu.Lock()
		took = append(took, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(took)
	if len(took) > 0 {
		b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "heartbeats/s")
}

// BenchmarkParseHeartbeat: the fleet's heartbeat body decoded and
// checked, and (for comparison) decoded by encoding/json alone as
// before health.DecodeReport.
func BenchmarkParseHeartbeat(b *testing.B) {
	body := []byte(fleetHeartbeat)
	b.Run("parseHeartbeat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseHeartbeat(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeStrict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var hb heartbeat
			if err := decodeStrict(body, &hb); err != nil {
				b.Fatal(err)
			}
		}
	})
}
