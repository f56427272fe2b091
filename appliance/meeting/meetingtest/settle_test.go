package meetingtest

import (
	"context"
	"testing"
)

// TestSettle: a stream that stops settles after its late arrivals; one
// that goes on never does. The clock ticks each time Settle reads it, and
// the stream has one arrival per tick while it runs.
func TestSettle(t *testing.T) {
	const quiet = 10 // ticks without an arrival that mean "stopped"
	for _, tc := range []struct {
		name    string
		late    int // arrivals after Settle starts; -1: the stream never stops
		want    int
		settles bool
	}{
		{"already quiet", 0, 0, true},
		{"late arrivals", 5, 5, true},
		{"never stops", -1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The test's deadline is counted in ticks, not in time:
			// ten times what a stream that stops needs.
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ticks := 0
			clock := func() int {
				if ticks++; ticks > 10*quiet {
					cancel()
				}
				return ticks
			}
			count := func() int {
				if tc.late < 0 {
					return ticks
				}
				return min(ticks, tc.late)
			}
			got, err := Settle(ctx, count, clock, quiet)
			if !tc.settles {
				if err == nil {
					t.Fatalf("a stream that never stops settled after %d arrivals", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Settle = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}
