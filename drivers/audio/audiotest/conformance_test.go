package audiotest

import (
	"testing"

	"roomkit/drivers/audio"
)

func TestSyntheticConformance(t *testing.T) {
	Conformance(t, func(t *testing.T) audio.Speakerphone {
		s := NewSynthetic(440)
		fakeClock(s)
		return s
	})
}
