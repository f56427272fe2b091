package disk

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// HumanBytes writes a size the way people read it: "7.5 GiB", "500 MiB".
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= MiB:
		return fmt.Sprintf("%.0f MiB", float64(n)/MiB)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ParseBytes reads a size as people type it on a command line (a disk's,
// an image's): 8G, 2048M, 512K (powers of 1024) or a byte count, from
// least to most bytes.
func ParseBytes(s string, least, most int64) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"K", 1 << 10}, {"M", MiB}, {"G", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size like 8G, 2048M, 512K or a byte count", s)
	}
	switch n *= mult; {
	case n < least:
		return 0, fmt.Errorf("%q is less than %s", s, HumanBytes(least))
	case n > most:
		return 0, fmt.Errorf("%q is more than %s", s, HumanBytes(most))
	}
	return n, nil
}
