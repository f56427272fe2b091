package appliance

// The GPIO panel: a mute button with its LED, and a presence sensor.

import (
	"context"

	"roomkit/drivers/gpio"
)

// watchPanel follows the panel's events until ctx ends. The mute button
// toggles the room's microphone (meetings apply it; the LED shows it at
// all times, so the room can trust the button outside meetings too).
//
// Presence is logged and redraws the screen. The kit does not dim or
// blank the screen yet: a panel that stays lit is simpler to support,
// and dimming belongs with a sensor that most kits do not have.
func (k *Kit) watchPanel(ctx context.Context) {
	p := k.cfg.GPIO
	if p == nil {
		return
	}
	events := p.Events()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				k.log.Warn("GPIO panel closed: the mute button no longer works", "panel", p.Status().Name)
				return
			}
			switch ev.Kind {
			case gpio.MuteToggled:
				k.meetings.setMuted(func(muted bool) bool { return !muted })
			case gpio.PresenceChanged:
				k.log.Info("presence", "present", ev.Present)
				k.signal()
			}
		}
	}
}
