package meetingtest

import (
	"context"
	"testing"
	"time"
)

// TestSettle: a stream that stops settles after its late arrivals; one
// that goes on never does. The clock ticks each time Settle reads it, and
// the stream has one arrival per tick while it runs.
func TestSettle(t *testing.T) {
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
			ticks := 0
			clock := func() int { ticks++; return ticks }
			count := func() int {
				if tc.late < 0 {
					return ticks
				}
				return min(ticks, tc.late)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			got, err := Settle(ctx, count, clock, 50)
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
