package agent

import (
	"context"
	"io"

	"roomkit/ota/tufclient"
)

// candidate is a release the signed metadata offers.
type candidate = tufclient.Candidate

// source is the verified repository, behind an interface so the state
// machine's tests need no HTTP; tufSource is the real one.
type source interface {
	// Latest is the newest release of channel for target newer than
	// floor.
	Latest(ctx context.Context, channel, target, floor string) (c candidate, ok bool, err error)
	// Fetch opens c's bytes from offset, at most c.Length-offset of them.
	Fetch(ctx context.Context, c candidate, offset int64) (io.ReadCloser, error)
}

type tufSource struct{ cfg tufclient.Config }

func (s tufSource) Latest(ctx context.Context, channel, target, floor string) (candidate, bool, error) {
	return tufclient.Latest(ctx, s.cfg, channel, target, floor)
}

func (s tufSource) Fetch(ctx context.Context, c candidate, offset int64) (io.ReadCloser, error) {
	return tufclient.Fetch(ctx, s.cfg, c, offset)
}
