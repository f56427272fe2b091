// Package audio is the room's speakerphone: microphone in, speaker out,
// 48 kHz mono signed 16-bit samples.
//
// Drivers: ALSA on a kit; a synthetic speakerphone in the demo and tests
// (audiotest).
package audio

import (
	"context"
	"errors"

	"roomkit/drivers"
)

// SampleRate is the only rate the kit uses: Opus's native 48 kHz.
const SampleRate = 48000

// ErrUnplugged is returned once the device is gone.
var ErrUnplugged = errors.New("speakerphone unplugged")

// Info describes the chosen device.
type Info struct {
	Name     string `json:"name"`
	ID       string `json:"id,omitempty"`
	Channels int    `json:"channels"`
}

// Speakerphone is an open full-duplex audio device.
type Speakerphone interface {
	Info() Info
	// Read blocks until len(buf) microphone samples were captured or ctx ends.
	Read(ctx context.Context, buf []int16) error
	// Write queues samples for the speaker; it blocks while the queue is full.
	Write(ctx context.Context, buf []int16) error
	// SetVolume sets the speaker's software gain, 0–100.
	SetVolume(percent int)
	Status() drivers.Status
	Close() error
}
