package gpiotest

import (
	"testing"

	"roomkit/drivers/gpio"
)

func TestFakePanel(t *testing.T) {
	p := New(4)
	p.Press()
	p.SetPresence(true)
	if e := <-p.Events(); e.Kind != gpio.MuteToggled {
		t.Errorf("first event %v, want mute toggled", e.Kind)
	}
	if e := <-p.Events(); e != (gpio.Event{Kind: gpio.PresenceChanged, Present: true}) {
		t.Errorf("second event %+v", e)
	}
	p.SetMuteLED(true)
	if !p.LED() {
		t.Error("LED not lit")
	}
	p.Close()
	if _, ok := <-p.Events(); ok {
		t.Error("events open after Close")
	}
}
