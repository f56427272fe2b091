package rollout

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"testing"
)

// TestBucketGolden pins Bucket: a change would reshuffle every fleet's
// rings. The values were computed outside Go (Python's hashlib) from the
// rule in the doc. The first IDs have the shape provisioning.DeviceID
// gives (base64url of a SHA-256).
func TestBucketGolden(t *testing.T) {
	for _, c := range []struct {
		id   string
		want int
	}{
		{"whGwlP3YP9UZI3zHI0sB3pQ_t2aLrSCCuKC7h4TP850", 6705},
		{"GAeuOIaQHW1FjDylFN86jVSABt1p5m9pYFMaJG5-G9I", 3686},
		{"5WUIedewvZltOQfSCS_iLncORkRTwswLg6fvxrDffeI", 9442},
		{"rk-0001", 1663},
		{"kit-zurich-boardroom", 1022},
		{"ÄÖÜ-raum", 6235},
		{"", 7649},
	} {
		if got := Bucket(c.id); got != c.want {
			t.Errorf("Bucket(%q) = %d, want %d", c.id, got, c.want)
		}
	}
}

// syntheticID is shaped like provisioning.DeviceID.
func syntheticID(i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "synthetic kit %d", i))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestBucketDistribution(t *testing.T) {
	const n = 10000
	counts := map[int]int{} // ring percent → members
	for i := range n {
		id := syntheticID(i)
		b := Bucket(id)
		if b < 0 || b >= Buckets {
			t.Fatalf("Bucket(%q) = %d, outside 0..9999", id, b)
		}
		for _, p := range []int{0, 10, 50, 100} {
			if InRing(id, p) {
				counts[p]++
			}
		}
		// Rings are nested: a device in the 10 % ring is in the 50 % ring.
		if InRing(id, 10) && !InRing(id, 50) {
			t.Fatalf("%q is in the 10 %% ring but not in the 50 %% ring", id)
		}
	}
	for p, want := range map[int][2]int{0: {0, 0}, 10: {900, 1100}, 50: {4900, 5100}, 100: {n, n}} {
		if got := counts[p]; got < want[0] || got > want[1] {
			t.Errorf("ring %d %% holds %d of %d devices, want %d..%d", p, got, n, want[0], want[1])
		}
	}
	t.Logf("10 %% ring: %d of %d; 50 %% ring: %d", counts[10], n, counts[50])
}
