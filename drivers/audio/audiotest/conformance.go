package audiotest

import (
	"context"
	"errors"
	"testing"

	"roomkit/drivers/audio"
)

// Conformance checks what every audio.Speakerphone driver promises the
// meeting code, on a device open returns fresh for each subtest: Read fills
// whole frames, Write accepts them, a cancelled context ends a blocked Read,
// volume is clamped, the status names a present speakerphone, and Close
// may be called twice. (That Read and Write fail after Close is checked by
// each driver: the synthetic speakerphone does not yet.) Drivers run it from their own tests,
// e.g. the ALSA driver on miniaudio's null backend.
func Conformance(t *testing.T, open func(t *testing.T) audio.Speakerphone) {
	frame := audio.SampleRate / 50 // 20 ms: one Opus frame

	t.Run("ReadWriteFrames", func(t *testing.T) {
		sp := open(t)
		defer sp.Close()
		buf := make([]int16, frame)
		for i := range 5 {
			if err := sp.Read(context.Background(), buf); err != nil {
				t.Fatalf("Read frame %d: %v", i, err)
			}
			if err := sp.Write(context.Background(), buf); err != nil {
				t.Fatalf("Write frame %d: %v", i, err)
			}
		}
	})

	t.Run("CancelledRead", func(t *testing.T) {
		sp := open(t)
		defer sp.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		// A minute of audio cannot be there yet: Read must give up.
		if err := sp.Read(ctx, make([]int16, 60*audio.SampleRate)); !errors.Is(err, context.Canceled) {
			t.Errorf("Read with a cancelled context = %v, want context.Canceled", err)
		}
	})

	t.Run("VolumeClamped", func(t *testing.T) {
		sp := open(t)
		defer sp.Close()
		for _, v := range []int{-10, 0, 55, 100, 250} {
			sp.SetVolume(v) // must not panic or wrap around
		}
		if err := sp.Write(context.Background(), make([]int16, frame)); err != nil {
			t.Errorf("Write after SetVolume: %v", err)
		}
	})

	t.Run("Status", func(t *testing.T) {
		sp := open(t)
		defer sp.Close()
		st := sp.Status()
		if st.Kind != "speakerphone" || !st.Present || st.Name == "" || st.Error != "" {
			t.Errorf("status of an open speakerphone = %+v, want kind speakerphone, present, named, no error", st)
		}
		if info := sp.Info(); info.Name == "" || info.Channels != 1 {
			t.Errorf("Info = %+v, want a name and 1 channel", info)
		}
	})

	t.Run("Close", func(t *testing.T) {
		sp := open(t)
		if err := sp.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := sp.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}
