package rollout

import (
	"slices"
	"time"

	"roomkit/ota"
)

// Policy is how a rollout proceeds for one room, after Resolve merged the
// fleet's, the room's group's and the room's own settings.
type Policy struct {
	Channel string
	// Rings are the shares of the fleet, in percent, a rollout opens in
	// turn; the last one stays open.
	Rings []int
	// Soak is how long a ring runs before the next one opens.
	Soak   time.Duration
	Window ota.Window
	// Paused stops every rollout for the rooms this policy covers.
	Paused bool
	// FailPercent is the share of failed or rolled-back rooms, among those
	// that tried a version, above which the rollout pauses by itself.
	FailPercent int
}

// DefaultPolicy is what a room follows when nobody set anything.
var DefaultPolicy = Policy{Channel: "stable", Rings: []int{10, 50, 100}, Soak: 24 * time.Hour, Window: ota.DefaultWindow, FailPercent: 10}

// Layer is one scope's settings (fleet, group or room). A nil field, or
// empty Rings, inherits from the layer below.
type Layer struct {
	Channel     *string
	Rings       []int
	Soak        *time.Duration
	Window      *ota.Window
	Paused      *bool
	FailPercent *int
}

// Resolve starts from DefaultPolicy and lays the layers over it in order
// (fleet, group, room): a later layer's set fields win. The result shares
// no memory with DefaultPolicy or the layers.
func Resolve(layers ...Layer) Policy {
	p := DefaultPolicy
	p.Rings = slices.Clone(p.Rings)
	for _, l := range layers {
		if l.Channel != nil {
			p.Channel = *l.Channel
		}
		if len(l.Rings) > 0 {
			p.Rings = slices.Clone(l.Rings)
		}
		if l.Soak != nil {
			p.Soak = *l.Soak
		}
		if l.Window != nil {
			p.Window = *l.Window
		}
		if l.Paused != nil {
			p.Paused = *l.Paused
		}
		if l.FailPercent != nil {
			p.FailPercent = *l.FailPercent
		}
	}
	return p
}
