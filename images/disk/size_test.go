package disk

import (
	"math"
	"testing"
)

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		s           string
		least, most int64
		want        int64
		err         string
	}{
		{s: "8G", most: math.MaxInt64, want: 8 << 30},
		{s: "2048M", most: math.MaxInt64, want: 2048 << 20},
		{s: "512K", most: math.MaxInt64, want: 512 << 10},
		{s: "1234", most: math.MaxInt64, want: 1234},
		{s: "0", most: math.MaxInt64, want: 0},
		{s: "64G", most: 64 << 30, want: 64 << 30},
		{s: "65G", most: 64 << 30, err: `"65G" is more than 64.0 GiB`},
		{s: "0", least: 1, most: math.MaxInt64, err: `"0" is less than 1 bytes`},
		{s: "8X", most: math.MaxInt64, err: `"8X" is not a size like 8G, 2048M, 512K or a byte count`},
		{s: "-1M", most: math.MaxInt64, err: `"-1M" is not a size like 8G, 2048M, 512K or a byte count`},
		{s: "", most: math.MaxInt64, err: `"" is not a size like 8G, 2048M, 512K or a byte count`},
		{s: "9000000000G", most: math.MaxInt64, err: `"9000000000G" is not a size like 8G, 2048M, 512K or a byte count`},
	} {
		n, err := ParseBytes(tc.s, tc.least, tc.most)
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("ParseBytes(%q, %d, %d) error = %v, want %q", tc.s, tc.least, tc.most, err, tc.err)
		case tc.err == "" && (err != nil || n != tc.want):
			t.Errorf("ParseBytes(%q, %d, %d) = %d, %v, want %d", tc.s, tc.least, tc.most, n, err, tc.want)
		}
	}
}
