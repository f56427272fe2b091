package images

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// startTimeServer answers NTP queries on addr (UDP port 123) with the
// host's clock, so that a guest's gokrazy ntp sets its clock as it would
// from a real server: the test network reaches no other. It needs a
// network namespace of the test's own (port 123 is privileged).
func startTimeServer(t *testing.T, addr string) {
	c, err := net.ListenPacket("udp", net.JoinHostPort(addr, "123"))
	if err != nil {
		t.Fatalf("time server: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			c.WriteTo(ntpAnswer(buf[:48], time.Now()), from)
		}
	}()
}

// ntpAnswer is a server's reply (RFC 5905 § 7.3) to query at now: leap
// indicator 0, the query's version, mode 4 (server), stratum 1, the
// query's transmit time as origin, now as reference, receive and
// transmit time.
func ntpAnswer(query []byte, now time.Time) []byte {
	a := make([]byte, 48)
	a[0] = query[0]&0x38 | 4 // LI 0, VN from the query, mode 4
	a[1] = 1                 // stratum: a primary server
	a[2] = query[2]          // poll
	a[3] = 0xEC              // precision: 2^-20 s, about a microsecond
	copy(a[12:16], "LOCL")
	ts := ntpTime(now)
	binary.BigEndian.PutUint64(a[16:24], ts) // reference
	copy(a[24:32], query[40:48])             // origin: the client's transmit time
	binary.BigEndian.PutUint64(a[32:40], ts) // receive
	binary.BigEndian.PutUint64(a[40:48], ts) // transmit
	return a
}

// ntpTime is t in NTP's 64-bit format: seconds since 1900 and a fraction.
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800
	secs := uint64(t.Unix()) + unixToNTP
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// TestNTPAnswer checks the time server's reply against the NTP client
// that gokrazy's ntp uses, on the loopback of a test namespace or not at
// all: the fields gokrazy's client checks, and the time it reads.
func TestNTPAnswer(t *testing.T) {
	q := make([]byte, 48)
	q[0] = 0x23 // LI 0, version 4, mode 3 (client)
	binary.BigEndian.PutUint64(q[40:48], 0x0123456789abcdef)
	now := time.Date(2026, 12, 6, 0, 30, 15, 500_000_000, time.UTC)
	a := ntpAnswer(q, now)
	if mode, vn := a[0]&7, a[0]>>3&7; mode != 4 || vn != 4 {
		t.Errorf("mode %d version %d, want 4 and the query's 4", mode, vn)
	}
	if got := binary.BigEndian.Uint64(a[24:32]); got != 0x0123456789abcdef {
		t.Errorf("origin %#x, want the query's transmit time", got)
	}
	tx := binary.BigEndian.Uint64(a[40:48])
	secs, frac := int64(tx>>32)-2208988800, tx&0xffffffff
	back := time.Unix(secs, int64(frac*1e9>>32)).UTC()
	if d := back.Sub(now); d < 0 || d > time.Microsecond {
		t.Errorf("transmit time reads back as %v, want %v", back, now)
	}
}
