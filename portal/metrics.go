package portal

import (
	"bufio"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"roomkit/health"
)

// metrics are exported in the Prometheus text format, written by hand:
// a handful of counters does not need a client library.
type metrics struct {
	heartbeats atomic.Int64

	mu       sync.Mutex
	requests map[requestKey]*atomic.Int64
	pairings map[string]int64
}

type requestKey struct {
	route string
	code  int
}

func newMetrics() *metrics {
	return &metrics{requests: map[requestKey]*atomic.Int64{}, pairings: map[string]int64{}}
}

func (m *metrics) pairing(outcome string) {
	m.mu.Lock()
	m.pairings[outcome]++
	m.mu.Unlock()
}

func (m *metrics) request(route string, code int) {
	k := requestKey{route, code}
	m.mu.Lock()
	c := m.requests[k]
	if c == nil {
		c = new(atomic.Int64)
		m.requests[k] = c
	}
	m.mu.Unlock()
	c.Add(1)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument counts requests by route pattern (never the raw path, which
// could carry user codes or IDs) and status, and sets headers every
// answer should carry.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		// Not no-referrer: with it Chromium sends "Origin: null" on form posts,
		// which sameOrigin must refuse.
		h.Set("Referrer-Policy", "same-origin")
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern // set by ServeMux on the request it routed
		if route == "" {
			route = "unmatched"
		}
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		s.met.request(route, code)
	})
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	rooms, err := s.listRooms()
	if err != nil {
		s.log.Error("metrics", "err", err)
		http.Error(w, "could not list rooms", http.StatusInternalServerError)
		return
	}
	online := 0
	byHealth := map[string]int64{"ok": 0, "degraded": 0, "failed": 0, "unknown": 0}
	for _, rm := range rooms {
		if rm.Online {
			online++
		}
		switch {
		case rm.Health == nil:
			byHealth["unknown"]++
		case rm.Health.Status == health.OK || rm.Health.Status == health.Degraded:
			byHealth[string(rm.Health.Status)]++
		default: // failed, or a status this portal does not know: never better than it is
			byHealth["failed"]++
		}
	}
	openAlerts, err := s.openAlertsByKind()
	if err != nil {
		s.log.Error("metrics", "err", err)
		http.Error(w, "could not count alerts", http.StatusInternalServerError)
		return
	}
	type line struct {
		labels string
		value  int64
	}
	s.met.mu.Lock()
	var reqs []line
	for k, v := range s.met.requests {
		reqs = append(reqs, line{fmt.Sprintf(`{route="%s",code="%d"}`, escapeLabel(k.route), k.code), v.Load()})
	}
	var pairs []line
	for k, v := range s.met.pairings {
		pairs = append(pairs, line{fmt.Sprintf(`{outcome="%s"}`, escapeLabel(k)), v})
	}
	s.met.mu.Unlock()
	byLabels := func(a, b line) int { return strings.Compare(a.labels, b.labels) }
	slices.SortFunc(reqs, byLabels)
	slices.SortFunc(pairs, byLabels)

	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	family := func(name, typ, help string, lines []line) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, l := range lines {
			fmt.Fprintf(bw, "%s%s %d\n", name, l.labels, l.value)
		}
	}
	family("portal_http_requests_total", "counter", "HTTP requests by route and status code.", reqs)
	family("portal_heartbeats_total", "counter", "Heartbeats accepted from kits.", []line{{"", s.met.heartbeats.Load()}})
	family("portal_pairing_attempts_total", "counter", "User code entries by outcome.", pairs)
	family("portal_rooms_total", "gauge", "Paired rooms.", []line{{"", int64(len(rooms))}})
	family("portal_rooms_online", "gauge", fmt.Sprintf("Rooms with a heartbeat in the last %v.", onlineWindow), []line{{"", int64(online)}})
	family("portal_rooms_offline", "gauge", fmt.Sprintf("Paired rooms without a heartbeat in the last %v (never seen included).", onlineWindow),
		[]line{{"", int64(len(rooms) - online)}})
	var hl []line
	for _, st := range []string{"ok", "degraded", "failed", "unknown"} {
		hl = append(hl, line{fmt.Sprintf(`{status="%s"}`, st), byHealth[st]})
	}
	family("portal_rooms_by_health", "gauge", "Rooms by the status of the health tree they last reported (unknown: none yet).", hl)
	var al []line
	for _, k := range alertKinds {
		al = append(al, line{fmt.Sprintf(`{kind="%s"}`, k), openAlerts[k]})
	}
	family("portal_alerts_open", "gauge", "Open alerts by kind.", al)
	h := s.hooks
	family("portal_webhook_deliveries_total", "counter", "Alert events sent to webhooks, by result: delivered, failed (all attempts failed), dropped (the queue was full).",
		[]line{{`{result="delivered"}`, h.delivered.Load()}, {`{result="dropped"}`, h.dropped.Load()}, {`{result="failed"}`, h.gaveUp.Load()}})
	family("portal_webhook_failed_attempts_total", "counter", "Webhook delivery attempts that failed (each retry counts).",
		[]line{{"", h.failedAttempts.Load()}})
	if n, ok := s.storeBytes(); ok {
		family("portal_store_bytes", "gauge", "The database's size (retention.go bounds its history).", []line{{"", n}})
	}
	fmt.Fprintf(bw, "# HELP portal_scrape_timestamp_seconds When this page was made.\n# TYPE portal_scrape_timestamp_seconds gauge\nportal_scrape_timestamp_seconds %d\n", s.now().Unix())
}

func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}
