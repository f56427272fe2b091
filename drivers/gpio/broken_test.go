package gpio

import (
	"errors"
	"testing"
)

// A panel that failed to open is listed with the reason, and its LED
// says so too.
func TestBroken(t *testing.T) {
	cause := errors.New(`GPIO pin "GPIO99" (mute button) does not exist on this board`)
	p := Broken(cause)
	if s := p.Status(); s.Kind != "gpio" || s.Present || s.Error != cause.Error() {
		t.Errorf("status %+v", s)
	}
	if err := p.SetMuteLED(true); !errors.Is(err, cause) {
		t.Errorf("SetMuteLED: %v, want %v", err, cause)
	}
	if p.Events() != nil {
		t.Error("a broken panel sends events")
	}
}
