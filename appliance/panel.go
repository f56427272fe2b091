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
				k.setMuted(func(muted bool) bool { return !muted })
			case gpio.PresenceChanged:
				k.log.Info("presence", "present", ev.Present)
				k.signal()
			}
		}
	}
}

// setMuted sets the room's microphone to change(its current state) (true:
// muted) and lights the mute LED to match.
//
// In a meeting it mutes the session too: the button, the screen and
// roomctl all mute the same microphone.
func (k *Kit) setMuted(change func(muted bool) bool) {
	k.muteMu.Lock()
	defer k.muteMu.Unlock()
	k.mu.Lock()
	muted := change(k.muted)
	k.muted = muted
	if k.mic != nil {
		k.mic.SetMuted(muted)
	}
	var sess session
	if k.meet != nil {
		sess = k.meet.sess
	}
	// Under the lock, so that LED and flag never disagree after two
	// quick changes; the panel's own lock is short.
	var err error
	if p := k.cfg.GPIO; p != nil {
		err = p.SetMuteLED(muted)
	}
	k.mu.Unlock()
	if sess != nil {
		sess.SetMuted(muted)
	}
	k.log.Info("microphone", "muted", muted)
	if err != nil {
		k.log.Warn("cannot set the mute LED", "err", err)
	}
	k.signal()
}
