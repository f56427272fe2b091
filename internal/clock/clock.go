// Package clock holds the tree's one way to wait: a sleep that ends early
// when its context does, so that retries, polls and paced fakes stop as
// soon as whatever owns them shuts down.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx ends, whichever is first, and returns
// ctx's error if it ended first. A d of zero or less does not wait, but
// still reports an ended ctx: a loop that sleeps "what is left" stops on
// cancellation even when nothing is left.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
