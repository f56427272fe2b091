package portal

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// TestLockoutProgressive: the free failures, then a lock that doubles
// with each further failure up to its cap; concurrent attempts are
// counted before they are settled; a reset or a quiet period forgets.
func TestLockoutProgressive(t *testing.T) {
	rule := lockRule{free: 3, lock: time.Minute, maxLock: 4 * time.Minute, forget: time.Hour}
	type step struct {
		advance time.Duration
		do      string // "fail", "check", "begin", "settle-fail", "settle-ok", "reset"
		want    time.Duration
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"free failures, then a lock", []step{
			{0, "fail", 0}, {0, "fail", 0}, {0, "check", 0}, {0, "fail", time.Minute},
			{59 * time.Second, "check", time.Second}, {time.Second, "check", 0},
		}},
		{"each failure after the lock doubles it, up to the cap", []step{
			{0, "fail", 0}, {0, "fail", 0}, {0, "fail", time.Minute},
			{time.Minute, "fail", 2 * time.Minute},
			{2 * time.Minute, "fail", 4 * time.Minute},
			{4 * time.Minute, "fail", 4 * time.Minute},
		}},
		{"concurrent attempts wait for the ones in flight", []step{
			{0, "begin", 0}, {0, "begin", 0}, {0, "begin", 0},
			{0, "begin", time.Minute}, // three in flight would lock if they fail
			{0, "settle-ok", 0}, {0, "begin", 0},
		}},
		{"after a lock, one attempt at a time", []step{
			{0, "fail", 0}, {0, "fail", 0}, {0, "fail", time.Minute},
			{time.Minute, "begin", 0}, {0, "begin", 2 * time.Minute},
			{0, "settle-fail", 2 * time.Minute},
		}},
		{"a reset forgets", []step{
			{0, "fail", 0}, {0, "fail", 0}, {0, "fail", time.Minute}, {0, "reset", 0}, {0, "fail", 0},
		}},
		{"a quiet period forgets", []step{
			{0, "fail", 0}, {0, "fail", 0}, {59 * time.Minute, "check", 0}, {time.Minute, "fail", 0}, {0, "fail", 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLockout("test", rule)
			now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
			var inFlight []*attempt
			for i, s := range tc.steps {
				now = now.Add(s.advance)
				var got time.Duration
				switch s.do {
				case "fail":
					l.fail(now, "k")
					got = l.check(now, "k")
				case "check":
					got = l.check(now, "k")
				case "begin":
					var a *attempt
					a, got = l.begin(now, "k")
					if a != nil {
						inFlight = append(inFlight, a)
					}
				case "settle-fail", "settle-ok":
					a := inFlight[0]
					inFlight = inFlight[1:]
					if s.do == "settle-fail" {
						a.fail(now)
					} else {
						a.release()
					}
					got = l.check(now, "k")
				case "reset":
					l.reset("k")
					got = l.check(now, "k")
				}
				if got != s.want {
					t.Fatalf("step %d (%s after %v): wait %v, want %v", i+1, s.do, s.advance, got, s.want)
				}
			}
		})
	}
}

// TestLockoutsSurviveRestart: failures written to the database are there
// when the portal opens it again, for every persisted lockout.
func TestLockoutsSurviveRestart(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		rule lockRule
		key  string
		want time.Duration
	}{
		{"codes", lockRule{free: 5, lock: 15 * time.Minute, maxLock: 15 * time.Minute, forget: 10 * time.Minute}, "addr:192.0.2.1", 15 * time.Minute},
		{"meetings", lockRule{free: 20, lock: 15 * time.Minute, maxLock: 15 * time.Minute, forget: 10 * time.Minute}, "addr:192.0.2.1", 15 * time.Minute},
		{"login", lockRule{free: 5, lock: time.Minute, maxLock: time.Hour, forget: 24 * time.Hour}, "192.0.2.1|it@example.com", time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := openDefault(dir)
			if err != nil {
				t.Fatal(err)
			}
			l := newLockout(tc.name, tc.rule)
			for range tc.rule.free {
				l.fail(now, tc.key)
			}
			if err := flushLockouts(db, l); err != nil {
				t.Fatal(err)
			}
			db.Close()

			db, err = openDefault(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			again := newLockout(tc.name, tc.rule)
			other := newLockout("other", tc.rule) // another lockout's keys are its own
			if err := loadLockouts(context.Background(), db, now, again, other); err != nil {
				t.Fatal(err)
			}
			if got := again.check(now, tc.key); got != tc.want {
				t.Errorf("after reopening: wait %v, want %v", got, tc.want)
			}
			if got := other.check(now, tc.key); got != 0 {
				t.Errorf("another lockout with the same key: wait %v, want 0", got)
			}
			// A reset is saved too.
			again.reset(tc.key)
			if err := flushLockouts(db, again); err != nil {
				t.Fatal(err)
			}
			var n int
			db.QueryRow("SELECT COUNT(*) FROM throttle").Scan(&n)
			if n != 0 {
				t.Errorf("%d rows after a reset, want 0", n)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 2001:db8:1::/48,192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		peer    string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxy configured: the peer", "203.0.113.9:5000", []string{"198.51.100.1"}, nil, "203.0.113.9"},
		{"untrusted peer: its header is ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, trusted, "203.0.113.9"},
		{"trusted proxy: the hop it saw", "10.1.2.3:5000", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
		{"a client's own entries left of it are ignored", "10.1.2.3:5000", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, trusted, "198.51.100.1"},
		{"two trusted proxies", "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1, 192.0.2.7"}, trusted, "198.51.100.1"},
		{"headers are joined in order", "10.1.2.3:5000", []string{"1.1.1.1", "198.51.100.1, 10.9.9.9"}, trusted, "198.51.100.1"},
		{"trusted proxy, no header: the proxy", "10.1.2.3:5000", nil, trusted, "10.1.2.3"},
		{"only trusted hops: the leftmost", "10.1.2.3:5000", []string{"10.4.4.4, 10.5.5.5"}, trusted, "10.4.4.4"},
		{"garbage stops at the last address", "10.1.2.3:5000", []string{"198.51.100.1, evil, 10.5.5.5"}, trusted, "10.5.5.5"},
		{"garbage right of the proxy: the proxy", "10.1.2.3:5000", []string{"not-an-ip"}, trusted, "10.1.2.3"},
		{"hop with a port", "10.1.2.3:5000", []string{"198.51.100.1:4711"}, trusted, "198.51.100.1"},
		{"IPv6 client through an IPv6 proxy", "[2001:db8:1::5]:443", []string{"[2001:db8:9::1]:4711"}, trusted, "2001:db8:9::1"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:5000", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
		{"IPv4-mapped hop", "10.1.2.3:5000", []string{"::ffff:198.51.100.1"}, trusted, "198.51.100.1"},
		{"odd RemoteAddr kept", "@unix", nil, trusted, "@unix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clientIP(tc.peer, tc.xff, tc.trusted); got != tc.want {
				t.Errorf("clientIP(%q, %q) = %q, want %q", tc.peer, tc.xff, got, tc.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"10.0.0.0/8", "[10.0.0.0/8]", ""},
		{"10.1.2.3/8", "[10.0.0.0/8]", ""},
		{" 192.0.2.7 , ::1", "[192.0.2.7/32 ::1/128]", ""},
		{"2001:db8::/32", "[2001:db8::/32]", ""},
		{"", "", `trusted proxy "": no prefix given`},
		{"10.0.0.0/33", "", `trusted proxy "10.0.0.0/33": want a CIDR prefix like 10.0.0.0/8 or an address`},
		{"proxy.example.com", "", `trusted proxy "proxy.example.com": want a CIDR prefix like 10.0.0.0/8 or an address`},
		{"::ffff:10.0.0.0/104", "", `trusted proxy "::ffff:10.0.0.0/104": write IPv4 prefixes as IPv4 (like 10.0.0.0/8)`},
	} {
		got, err := ParseTrustedProxies(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseTrustedProxies(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || fmtPrefixes(got) != tc.want {
			t.Errorf("ParseTrustedProxies(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func fmtPrefixes(ps []netip.Prefix) string {
	s := "["
	for i, p := range ps {
		if i > 0 {
			s += " "
		}
		s += p.String()
	}
	return s + "]"
}

func TestLimitKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":             "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":  "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::9":  "2001:db8:1:2::/64",
		"::ffff:192.0.2.1":      "::ffff:192.0.2.1",
		"not an address at all": "not an address at all",
	} {
		if got := limitKey(in); got != want {
			t.Errorf("limitKey(%q) = %q, want %q", in, got, want)
		}
	}
}
