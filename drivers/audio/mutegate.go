package audio

import (
	"context"
	"sync/atomic"
)

// MuteGate is a speakerphone whose microphone can be silenced. The kit
// mutes the room here as well as in a meeting's session, so that a muted
// room is never heard, not even in the moment between joining and the
// session learning that it is muted. The speaker is not affected.
type MuteGate struct {
	Speakerphone
	muted atomic.Bool
}

// NewMuteGate wraps sp, unmuted.
func NewMuteGate(sp Speakerphone) *MuteGate { return &MuteGate{Speakerphone: sp} }

// SetMuted silences the microphone (true) or lets it through. It takes
// effect from the next Read on; any goroutine may call it.
func (g *MuteGate) SetMuted(muted bool) { g.muted.Store(muted) }

// Muted reports whether the microphone is silenced.
func (g *MuteGate) Muted() bool { return g.muted.Load() }

// Read reads the microphone, and zeroes what it read while muted.
func (g *MuteGate) Read(ctx context.Context, buf []int16) error {
	err := g.Speakerphone.Read(ctx, buf)
	if g.muted.Load() {
		clear(buf)
	}
	return err
}
