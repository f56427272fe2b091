package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"roomkit/portalapi"
)

func TestHistogramQuantiles(t *testing.T) {
	ms := time.Millisecond
	hundred := make([]time.Duration, 100) // 1 ms … 100 ms
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * ms
	}
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		q       float64
		want    time.Duration
	}{
		{"no samples", nil, 0.5, 0},
		{"one sample is every quantile", []time.Duration{7 * ms}, 0.99, 7 * ms},
		{"p50 of 1…100 ms", hundred, 0.50, 50 * ms},
		{"p99 of 1…100 ms", hundred, 0.99, 99 * ms},
		{"p100 is the maximum", hundred, 1, 100 * ms},
		{"p0 is the smallest", hundred, 0, 1 * ms},
		{"sub-microsecond samples", []time.Duration{100, 200, 300}, 0.5, 300},
		{"one slow outlier does not move p50", append(repeat(2*ms, 99), 5*time.Second), 0.5, 2 * ms},
		{"one slow outlier is p100", append(repeat(2*ms, 99), 5*time.Second), 1, 5 * time.Second},
		{"beyond a minute: the max", []time.Duration{3 * time.Minute}, 0.5, 3 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			for _, d := range tc.samples {
				h.record(d)
			}
			got := h.quantile(tc.q)
			// A bucket is 1% wide: the answer may be up to 1% high, never low.
			if got < tc.want || float64(got) > float64(tc.want)*histGrowth+1 {
				t.Errorf("quantile(%v) = %v, want %v (to 1%%)", tc.q, got, tc.want)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestHistogramBuckets(t *testing.T) {
	for _, d := range []time.Duration{0, 1, time.Microsecond, 1500 * time.Nanosecond, 37 * time.Millisecond, 59 * time.Second} {
		b := bucketOf(d)
		if up := bucketUpper(b); up+1 < d {
			t.Errorf("%v lands in bucket %d, whose top is %v", d, b, up)
		}
		if b > 0 && bucketUpper(b-1) >= d {
			t.Errorf("%v lands in bucket %d, but bucket %d already holds it", d, b, b-1)
		}
	}
	if b := bucketOf(time.Hour); b != histBuckets-1 {
		t.Errorf("an hour lands in bucket %d, want the last (%d)", b, histBuckets-1)
	}
}

func TestRate(t *testing.T) {
	for _, tc := range []struct {
		n       int64
		elapsed time.Duration
		want    float64
	}{
		{0, time.Second, 0},
		{100, 0, 0},
		{100, -time.Second, 0},
		{1000, 2 * time.Second, 500},
		{3, 1500 * time.Millisecond, 2},
		{10000, 20 * time.Second, 500},
	} {
		if got := rate(tc.n, tc.elapsed); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("rate(%d, %v) = %v, want %v", tc.n, tc.elapsed, got, tc.want)
		}
	}
}

func TestPerThousand(t *testing.T) {
	for _, tc := range []struct {
		grew int64
		n    int
		want int64
	}{
		{0, 0, 0}, {1 << 20, 0, 0}, {1 << 20, 1000, 1 << 20}, {5 << 20, 10000, 512 << 10}, {-1000, 10, -100000},
	} {
		if got := perThousand(tc.grew, tc.n); got != tc.want {
			t.Errorf("perThousand(%d, %d) = %d, want %d", tc.grew, tc.n, got, tc.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestErrorKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("heartbeat: %w", &portalapi.OAuthError{Code: "invalid_token", Status: 401}), "refused: invalid_token"},
		{fmt.Errorf("meet now: %w", &portalapi.MeetingError{Status: 502, Message: "The meeting service is not working"}), "meeting refused: 502"},
		{fmt.Errorf("heartbeat: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("heartbeat: %w", context.Canceled), "canceled"},
		{fmt.Errorf("x: %w", timeoutErr{}), "timeout"},
		{fmt.Errorf("%w: POST /x: context deadline exceeded (Client.Timeout exceeded while awaiting headers)", portalapi.ErrUnreachable), "timeout"},
		{fmt.Errorf("%w: POST /x: connection refused", portalapi.ErrUnreachable), "unreachable"},
		{fmt.Errorf("%w: 500 Internal Server Error", portalapi.ErrBadAnswer), "bad answer"},
		{errors.New("something else"), "other"},
	} {
		if got := errorKind(tc.err); got != tc.want {
			t.Errorf("errorKind(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestErrorKindsCountAndSort(t *testing.T) {
	var e errorKinds
	for _, err := range []error{
		fmt.Errorf("%w: refused", portalapi.ErrUnreachable),
		errors.New("odd"),
		fmt.Errorf("%w: again", portalapi.ErrUnreachable),
	} {
		e.add(err)
	}
	got := e.sorted()
	if len(got) != 2 || got[0].Kind != "unreachable" || got[0].Count != 2 || got[1].Kind != "other" || e.total() != 3 {
		t.Fatalf("sorted = %+v, total %d", got, e.total())
	}
	if !strings.Contains(got[0].First, "refused") {
		t.Errorf("the first unreachable error is %q, want the first one added", got[0].First)
	}
}

func TestParseReplicas(t *testing.T) {
	for _, tc := range []struct {
		in       string
		want     []string
		loopback bool
		wantErr  string
	}{
		{"http://127.0.0.1:8080", []string{"http://127.0.0.1:8080"}, true, ""},
		{"http://127.0.0.1:1/, http://localhost:2", []string{"http://127.0.0.1:1", "http://localhost:2"}, true, ""},
		{"https://portal.example,http://127.0.0.1:1", []string{"https://portal.example", "http://127.0.0.1:1"}, false, ""},
		{"", nil, false, "no portal URL"},
		{" , ", nil, false, "no portal URL"},
		{"ftp://127.0.0.1", nil, false, "want http://"},
		{"127.0.0.1:8080", nil, false, "portal URL"},
		{"http://127.0.0.1:8080/admin", nil, false, "without a path"},
		{"http://[::1", nil, false, "portal URL"},
	} {
		r, err := parseReplicas(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseReplicas(%q): %v, want an error with %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseReplicas(%q): %v", tc.in, err)
			continue
		}
		var got []string
		for _, b := range r.bases {
			got = append(got, b.String())
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") || r.loopback() != tc.loopback {
			t.Errorf("parseReplicas(%q) = %v loopback %v, want %v loopback %v", tc.in, got, r.loopback(), tc.want, tc.loopback)
		}
	}
}

func TestReplicasTakeTurns(t *testing.T) {
	r, err := parseReplicas("http://127.0.0.1:1,http://127.0.0.1:2,http://127.0.0.1:3")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 7 {
		got = append(got, r.pick().Port())
	}
	if s := strings.Join(got, ""); s != "1231231" {
		t.Errorf("replicas picked %s, want 1231231", s)
	}
}

func TestSources(t *testing.T) {
	for _, tc := range []struct {
		kits     int
		loopback bool
		want     int
	}{
		{1, true, 1}, {50, true, 1}, {51, true, 2}, {10000, true, 200}, {10000, false, 1}, {1 << 30, true, maxSources},
	} {
		if got := autoSources(tc.kits, tc.loopback); got != tc.want {
			t.Errorf("autoSources(%d, %v) = %d, want %d", tc.kits, tc.loopback, got, tc.want)
		}
	}
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 254, 255, 256, maxSources - 1} {
		ip := sourceAddr(i)
		if !ip.IsLoopback() || ip.Equal(net.IPv4(127, 1, 0, 0)) || ip.Equal(net.IPv4(127, 1, 255, 255)) || seen[ip.String()] {
			t.Errorf("sourceAddr(%d) = %v: want a distinct loopback host address", i, ip)
		}
		seen[ip.String()] = true
	}
}

func TestHabitChances(t *testing.T) {
	for _, tc := range []struct {
		h      habits
		perDay float64
		want   float64
	}{
		{defaultHabits, 0, 0},
		{defaultHabits, 5760, 1}, // once a heartbeat at 15 s
		{defaultHabits, 8, 8.0 / 5760},
		{habits{Interval: time.Hour}, 12, 0.5},
		{habits{Interval: time.Hour}, 1000, 1},
	} {
		if got := tc.h.chance(tc.perDay); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("chance(%v a day at %v) = %v, want %v", tc.perDay, tc.h.Interval, got, tc.want)
		}
	}
}

func TestGauge(t *testing.T) {
	page := "# HELP portal_store_bytes x\n# TYPE portal_store_bytes gauge\nportal_store_bytes_other 9\nportal_store_bytes 123456\n"
	for _, tc := range []struct {
		page string
		n    int64
		ok   bool
	}{
		{page, 123456, true},
		{"portal_store_bytes 1.5e+09\n", 1500000000, true},
		{"portal_store_bytes_other 9\n", 0, false},
		{"portal_store_bytes many\n", 0, false},
		{"", 0, false},
	} {
		n, ok := gauge(strings.NewReader(tc.page), storeMetric)
		if n != tc.n || ok != tc.ok {
			t.Errorf("gauge(%q) = %d, %v; want %d, %v", tc.page, n, ok, tc.n, tc.ok)
		}
	}
}

func TestBadOptions(t *testing.T) {
	good := options{Portal: "http://127.0.0.1:1", AdminToken: "rka_x", Kits: 1, Duration: time.Second, Habits: defaultHabits}
	for _, tc := range []struct {
		change  func(*options)
		wantErr string
	}{
		{func(o *options) { o.Kits = 0 }, "-kits 0"},
		{func(o *options) { o.AdminToken = "" }, "-token is required"},
		{func(o *options) { o.Rate = -1 }, "-rate"},
		{func(o *options) { o.Rate = math.NaN() }, "-rate"},
		{func(o *options) { o.Duration = 0 }, "give -duration"},
		{func(o *options) { o.Duration = -time.Second }, "must not be negative"},
		{func(o *options) { o.Habits.Interval = 0 }, "-interval"},
		{func(o *options) { o.Replay = time.Second }, "shorter than one heartbeat interval"},
		{func(o *options) { o.Sources = -1 }, "-sources"},
		{func(o *options) { o.Sources = 2; o.Portal = "https://portal.example" }, "only work with portals on loopback"},
		{func(o *options) { o.Habits.MeetingsPerDay = -1 }, "must not be negative"},
		{func(o *options) { o.Portal = "portal.example" }, "want http://"},
	} {
		o := good
		tc.change(&o)
		if _, err := newSim(o); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("newSim(%+v): %v, want an error with %q", o, err, tc.wantErr)
		}
	}
	if _, err := newSim(good); err != nil {
		t.Errorf("newSim(good): %v", err)
	}
}
