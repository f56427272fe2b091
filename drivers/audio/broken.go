package audio

import (
	"context"
	"fmt"

	"roomkit/drivers"
)

// Broken stands in for a speakerphone whose audio system failed to start
// (err): nothing hot-plug can fix, but the screen and the status must
// say so, and whatever reads it must see an unplugged device.
func Broken(err error) Speakerphone { return broken{err} }

type broken struct{ err error }

func (b broken) Info() Info                           { return Info{Name: "Speakerphone"} }
func (b broken) Read(context.Context, []int16) error  { return b.failed() }
func (b broken) Write(context.Context, []int16) error { return b.failed() }
func (b broken) SetVolume(int)                        {}
func (b broken) Close() error                         { return nil }
func (b broken) failed() error {
	return fmt.Errorf("audio system failed to start (%v): %w", b.err, ErrUnplugged)
}
func (b broken) Status() drivers.Status {
	return drivers.Status{Kind: "speakerphone", Name: "Speakerphone", Present: false,
		Error: "The audio system failed to start; restart the kit. (" + b.err.Error() + ")"}
}
