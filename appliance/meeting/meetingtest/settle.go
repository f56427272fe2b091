package meetingtest

import (
	"context"
	"fmt"
	"time"
)

// Settle waits until a stream has stopped: until count stays the same
// while clock, a stream that goes on, advances by n. It starts over
// whenever count moves. This is how a test checks that something stopped
// (a camera turned off, a microphone muted, a device unplugged) on a
// machine of any speed: what was already on its way when it stopped
// arrives late on a busy machine, so the test waits for the stream to go
// quiet, measured in the other stream's units, not for a guessed time.
//
// Settle returns how many arrived after it was called; if ctx ends first,
// the error says how many and that the stream never went quiet.
func Settle(ctx context.Context, count, clock func() int, n int) (int, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	first := count()
	last, from := first, clock()
	for {
		if c := count(); c != last {
			last, from = c, clock()
		} else if clock()-from >= n {
			return last - first, nil
		}
		select {
		case <-ctx.Done():
			return last - first, fmt.Errorf("%d arrived and the stream never stayed quiet for %d ticks of the clock: %w", last-first, n, ctx.Err())
		case <-tick.C:
		}
	}
}
