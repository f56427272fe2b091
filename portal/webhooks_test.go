package portal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"roomkit/health"
)

// received is one POST a test receiver got.
type received struct {
	path   string
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint that answers with status(n) for its
// n-th request (from 1) and hands each request to the test.
func receiver(t *testing.T, status func(n int64) int) (*httptest.Server, <-chan received) {
	ch := make(chan received, 32)
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- received{r.URL.Path, r.Header.Clone(), b}
		w.WriteHeader(status(n.Add(1)))
	}))
	t.Cleanup(ts.Close)
	return ts, ch
}

// verify checks a delivery the way docs/alerts.md tells a receiver to,
// with this test's own HMAC code, and returns the event. A zero now
// accepts any timestamp.
func verify(t *testing.T, secret string, now time.Time, r received) webhookEvent {
	t.Helper()
	ts := r.header.Get("X-RoomKit-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || (!now.IsZero() && sec != now.Unix()) {
		t.Fatalf("X-RoomKit-Timestamp %q, want %d", ts, now.Unix())
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(r.body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := r.header.Get("X-RoomKit-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
		t.Fatalf("X-RoomKit-Signature %q, want %q", got, want)
	}
	var ev webhookEvent
	if err := json.Unmarshal(r.body, &ev); err != nil {
		t.Fatalf("body is not JSON: %s", r.body)
	}
	if r.header.Get("X-RoomKit-Event") != ev.Event || r.header.Get("Content-Type") != "application/json" || r.header.Get("X-RoomKit-Delivery") == "" {
		t.Errorf("headers %v for event %q", r.header, ev.Event)
	}
	return ev
}

func (e *alertEnv) addHook(url, secret string) webhookAnswer {
	e.t.Helper()
	code, _, b := e.admin("POST", "/api/v1/admin/webhooks", webhookRequest{URL: url, Secret: secret})
	if code != 201 {
		e.t.Fatalf("add webhook: %d %s", code, b)
	}
	var a webhookAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *alertEnv) hooks() []Webhook {
	e.t.Helper()
	code, _, b := e.admin("GET", "/api/v1/admin/webhooks", nil)
	if code != 200 {
		e.t.Fatalf("GET webhooks: %d %s", code, b)
	}
	var a struct{ Webhooks []Webhook }
	if err := json.Unmarshal(b, &a); err != nil {
		e.t.Fatal(err)
	}
	return a.Webhooks
}

const rolledBack = `{"state":"rolled-back","target_version":"1.5.0","error":"","last":{"version":"1.5.0","outcome":"rolled-back","reason":"Camera: not found","at":"2026-11-02T08:58:00Z"}}`

func TestWebhookSigned(t *testing.T) {
	logs := &syncBuffer{}
	recorded := make(chan int64, 32)
	e := newAlertEnv(t, Config{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
		func(s *Server) { s.hooks.recorded = func(id int64) { recorded <- id } })
	rx, got := receiver(t, func(int64) int { return http.StatusNoContent })

	const given = "s3cret-for-the-receiver-0123"
	a := e.addHook(rx.URL+"/given", given)
	if a.Secret != "" || a.Webhook.URL != rx.URL+"/given" {
		t.Fatalf("answer to a webhook with its secret: %+v", a)
	}
	b := e.addHook(rx.URL+"/made", "")
	made := b.Secret
	if len(made) < 32 {
		t.Fatalf("made secret %q", made)
	}
	secrets := map[string]string{"/given": given, "/made": made}

	e.beat(beatWith(nil, rolledBack))
	e.eval()
	for range 2 {
		r := <-got
		ev := verify(t, secrets[r.path], e.clock.Now(), r)
		if ev.Event != "alert.opened" || ev.Alert.State != alertOpen || ev.Alert.Kind != AlertUpdate ||
			ev.Alert.Message != "Board Room: update to 1.5.0 rolled back: Camera: not found" || ev.Portal != e.srv.url {
			t.Errorf("%s: %+v", r.path, ev)
		}
		<-recorded
	}

	// Fixed: resolved after the clear time, and said so.
	good := beatWith(nil, `{"state":"healthy","target_version":"1.5.0","error":""}`)
	e.beat(good)
	e.eval()
	e.minutes(5, true)
	e.beat(good)
	for range 2 {
		r := <-got
		if ev := verify(t, secrets[r.path], e.clock.Now(), r); ev.Event != "alert.resolved" || ev.Alert.Resolved == nil {
			t.Errorf("%s: %+v", r.path, ev)
		}
		<-recorded
	}
	for _, h := range e.hooks() {
		if h.Delivered != 2 || h.LastError != "" || h.LastAt == nil || !strings.HasPrefix(h.Status(), "last delivery went through") {
			t.Errorf("webhook %+v (%s)", h, h.Status())
		}
	}

	// The secrets are in no answer, log line or audit entry.
	_, _, list := e.admin("GET", "/api/v1/admin/webhooks", nil)
	audit, err := e.srv.auditLog(100)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{given, made} {
		if strings.Contains(string(list), s) || strings.Contains(logs.String(), s) || strings.Contains(fmt.Sprint(audit), s) {
			t.Errorf("secret %q leaked (list %s)", s, list)
		}
	}
	if !strings.Contains(fmt.Sprint(audit), "add webhook") {
		t.Errorf("adding webhooks is not audited: %v", audit)
	}
	// A tampered body does not verify with the receiver's check.
	if Sign(given, 1, []byte(`{"a":1}`)) == Sign(given, 1, []byte(`{"a":2}`)) || Sign(given, 1, nil) == Sign(given, 2, nil) {
		t.Error("the signature does not cover the body and the timestamp")
	}
}

// fakeSleep stands in for the wait between attempts: it reports each
// wait and returns when the test says.
type fakeSleep struct {
	waits   chan time.Duration
	release chan struct{}
}

func newFakeSleep() *fakeSleep {
	return &fakeSleep{waits: make(chan time.Duration, 16), release: make(chan struct{})}
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.waits <- d
	select {
	case <-f.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestWebhookDownRetried(t *testing.T) {
	fs := newFakeSleep()
	recorded := make(chan int64, 32)
	e := newAlertEnv(t, Config{sleep: fs.sleep}, func(s *Server) { s.hooks.recorded = func(id int64) { recorded <- id } })
	rx, got := receiver(t, func(n int64) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	const secret = "0123456789abcdef0123"
	e.addHook(rx.URL, secret)
	e.beat(beatWith(nil, rolledBack))
	e.eval() // returns at once: delivery is the webhook's own goroutine's
	for i, wait := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second} {
		verify(t, secret, e.clock.Now(), <-got)
		<-recorded
		if d := <-fs.waits; d != wait {
			t.Fatalf("wait before attempt %d: %v, want %v", i+2, d, wait)
		}
		h := e.hooks()[0]
		want := fmt.Sprintf("last delivery failed: it answered 503 Service Unavailable (attempt %d of 8; next in %v)", i+1, wait)
		if h.Status() != want || h.Failed != int64(i+1) {
			t.Fatalf("while down: %q, failed %d; want %q", h.Status(), h.Failed, want)
		}
		// The portal goes on while the delivery waits: heartbeats,
		// pages, and the next alert round.
		if st, b := e.heartbeat(e.mustToken(), goodHeartbeat); st != 200 {
			t.Fatalf("heartbeat while the webhook is down: %d %s", st, b)
		}
		e.eval()
		e.clock.Advance(wait)
		fs.release <- struct{}{}
	}
	verify(t, secret, e.clock.Now(), <-got) // signed anew at retry time
	<-recorded
	h := e.hooks()[0]
	if h.LastError != "" || h.Delivered != 1 || h.Failed != 3 {
		t.Fatalf("after the endpoint came back: %+v", h)
	}
	_, _, m := e.admin("GET", "/metrics", nil)
	for _, want := range []string{`portal_webhook_deliveries_total{result="delivered"} 1`, "portal_webhook_failed_attempts_total 3"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func (e *alertEnv) mustToken() string {
	e.t.Helper()
	st, m := e.kit.refresh()
	if st != 200 {
		e.t.Fatalf("refresh: %d %v", st, m)
	}
	return m["access_token"].(string)
}

// TestWebhookGivesUp: an endpoint nobody listens on is tried eight times
// with growing waits, then given up, and the admin sees why.
func TestWebhookGivesUp(t *testing.T) {
	fs := newFakeSleep()
	recorded := make(chan int64, 32)
	e := newAlertEnv(t, Config{sleep: fs.sleep}, func(s *Server) { s.hooks.recorded = func(id int64) { recorded <- id } })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	e.addHook(dead, "")
	e.beat(beatWith(nil, rolledBack))
	e.eval()
	var waits []time.Duration
	for range 7 {
		<-recorded
		waits = append(waits, <-fs.waits)
		fs.release <- struct{}{}
	}
	<-recorded
	if fmt.Sprint(waits) != "[5s 10s 20s 40s 1m20s 2m40s 5m0s]" {
		t.Errorf("waits %v", waits)
	}
	h := e.hooks()[0]
	if !strings.HasPrefix(h.Status(), "last delivery failed: could not reach it: ") || !strings.HasSuffix(h.Status(), "; gave up after 8 attempts") ||
		strings.Contains(h.Status(), dead) || h.Failed != 8 {
		t.Errorf("status %q, failed %d", h.Status(), h.Failed)
	}
	_, _, m := e.admin("GET", "/metrics", nil)
	if !strings.Contains(string(m), `portal_webhook_deliveries_total{result="failed"} 1`) {
		t.Errorf("metrics:\n%s", m)
	}
}

func TestAlertMetrics(t *testing.T) {
	e := newAlertEnv(t, Config{}, nil)
	at := time.Date(2026, 11, 2, 8, 59, 0, 0, time.UTC)
	e.beat(beatWith(tree(at, health.Node{Name: "Camera", Status: health.Failed, Detail: "not found"}), rolledBack))
	e.eval()
	e.minutes(2, true) // the camera's raise time
	k2 := e.newKit()
	e.pairKit(k2, "Huddle") // never seen: offline, health unknown
	_, _, m := e.admin("GET", "/metrics", nil)
	for _, want := range []string{
		`portal_alerts_open{kind="device"} 1`, `portal_alerts_open{kind="update"} 1`, `portal_alerts_open{kind="offline"} 0`, `portal_alerts_open{kind="disk"} 0`,
		`portal_rooms_by_health{status="failed"} 1`, `portal_rooms_by_health{status="unknown"} 1`, `portal_rooms_by_health{status="ok"} 0`,
		"portal_rooms_online 1", "portal_rooms_offline 1",
		`portal_webhook_deliveries_total{result="delivered"} 0`,
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
}

// TestWebhookQueueFull: a whole fleet going offline while the endpoint
// is down fills the webhook's queue; the rest is dropped, counted and
// said once, and the alert round is not held up.
func TestWebhookQueueFull(t *testing.T) {
	fs := newFakeSleep()
	recorded := make(chan int64, 256)
	e := newAlertEnv(t, Config{sleep: fs.sleep}, func(s *Server) { s.hooks.recorded = func(id int64) { recorded <- id } })
	rx, got := receiver(t, func(int64) int { return http.StatusBadGateway })
	e.addHook(rx.URL, "")
	// The first alert's delivery fails and waits for its retry.
	e.beat(goodHeartbeat)
	e.minutes(11, false)
	<-got
	<-recorded
	<-fs.waits
	// Then 120 more rooms are found offline in one round.
	silent := e.clock.Now().Add(-20 * time.Minute).UnixMilli()
	for i := range webhookQueue + 20 {
		if _, err := e.srv.db.Exec(`INSERT INTO rooms (id, name, location, time_zone, device_id, public_key, label, state, created, last_seen)
			VALUES (?, ?, '', 'UTC', ?, x'00', '', 'ready', 0, ?)`, fmt.Sprintf("rm_q%03d", i), fmt.Sprintf("Room %d", i), fmt.Sprintf("dev-q%d", i), silent); err != nil {
			t.Fatal(err)
		}
	}
	e.eval()
	if n := len(e.alerts("open")); n != 121 {
		t.Fatalf("%d open alerts, want 121", n)
	}
	if h, want := e.hooks()[0], "last delivery failed: 100 events were waiting to be sent, so 20 more were dropped"; h.Status() != want {
		t.Errorf("status %q, want %q", h.Status(), want)
	}
	_, _, m := e.admin("GET", "/metrics", nil)
	if !strings.Contains(string(m), `portal_webhook_deliveries_total{result="dropped"} 20`) {
		t.Errorf("dropped events are not counted")
	}
}
