package alsa

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"roomkit/drivers/audio"
)

// The callback boundary: these tests call process as miniaudio's thread
// would, with byte buffers of native s16, on a clock they control.

const period = 480 // 10 ms

type callbackRig struct {
	s   *Speakerphone
	now time.Duration
}

func newRig() *callbackRig {
	r := &callbackRig{}
	r.s = newSpeakerphone(Device{ID: ":1,0", Name: "Jabra SPEAK 510 USB, USB Audio"}, Device{ID: ":1,0"}, period)
	r.s.now = func() time.Duration { return r.now }
	return r
}

func bytesOf(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.NativeEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func samplesOf(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.NativeEndian.Uint16(b[2*i:]))
	}
	return s
}

// tick runs one callback after advance, capturing mic and returning what
// the speaker played.
func (r *callbackRig) tick(advance time.Duration, mic []int16) []int16 {
	r.now += advance
	out := make([]byte, 2*period)
	for i := range out {
		out[i] = 0x55 // miniaudio's buffer is not necessarily silent
	}
	r.s.process(out, bytesOf(mic), period)
	return samplesOf(out)
}

func constant(v int16, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func TestCallbackXrun(t *testing.T) {
	tests := []struct {
		name  string
		gaps  []time.Duration
		xruns int64
	}{
		{"steady 10 ms", []time.Duration{10, 10, 10, 10}, 0},
		{"jittery but on time", []time.Duration{10, 4, 16, 29, 1}, 0},
		{"one 50 ms stall", []time.Duration{10, 10, 50, 10}, 1},
		{"two stalls", []time.Duration{10, 40, 10, 35, 10}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig()
			for _, g := range tt.gaps {
				r.tick(g*time.Millisecond, constant(100, period))
			}
			if got := r.s.Stats().Xruns; got != tt.xruns {
				t.Errorf("xruns = %d, want %d", got, tt.xruns)
			}
		})
	}
}

// After the reader stalls, the next Read gets the newest audio, not a
// backlog: latency recovers by itself.
func TestReadAfterStallIsFresh(t *testing.T) {
	r := newRig()
	frame := make([]int16, 2*period)
	ctx := context.Background()
	r.tick(10*time.Millisecond, constant(1, period))
	r.tick(10*time.Millisecond, constant(1, period))
	if err := r.s.Read(ctx, frame); err != nil {
		t.Fatal(err)
	}
	// The reader is stuck for 150 ms while the microphone goes on.
	for i := range 15 {
		r.tick(10*time.Millisecond, constant(int16(10+i), period))
	}
	if err := r.s.Read(ctx, frame); err != nil {
		t.Fatal(err)
	}
	// What is kept is this frame plus two periods of slack, so a reader
	// late by a period or two loses nothing.
	if frame[0] != 21 || frame[len(frame)-1] != 22 {
		t.Errorf("after a stall Read gave samples %d…%d, want the periods 21…22", frame[0], frame[len(frame)-1])
	}
	if err := r.s.Read(ctx, frame); err != nil || frame[0] != 23 || frame[len(frame)-1] != 24 {
		t.Errorf("the next Read gave %d…%d (%v), want the newest periods 23…24 at once", frame[0], frame[len(frame)-1], err)
	}
	st := r.s.Stats()
	if st.Overflows != 11*period {
		t.Errorf("overflows = %d samples, want %d (the stale periods)", st.Overflows, 11*period)
	}
	if st.Captured != 17*period {
		t.Errorf("captured = %d, want %d", st.Captured, 17*period)
	}
}

// Idle time before the first Read is not counted as an overflow.
func TestIdleMicrophoneIsNotAnOverflow(t *testing.T) {
	r := newRig()
	for range 100 { // a second nobody reads
		r.tick(10*time.Millisecond, constant(7, period))
	}
	if err := r.s.Read(context.Background(), make([]int16, 960)); err != nil {
		t.Fatal(err)
	}
	if st := r.s.Stats(); st.Overflows != 0 {
		t.Errorf("overflows = %d while nobody was in a meeting, want 0", st.Overflows)
	}
}

func TestSpeakerUnderrunGainMute(t *testing.T) {
	r := newRig()
	ctx := context.Background()
	r.s.SetVolume(50)
	if err := r.s.Write(ctx, constant(1000, period+period/2)); err != nil {
		t.Fatal(err)
	}
	first := r.tick(10*time.Millisecond, constant(5, period))
	second := r.tick(10*time.Millisecond, constant(5, period))
	third := r.tick(10*time.Millisecond, constant(5, period))
	if first[0] != 500 || first[period-1] != 500 {
		t.Errorf("at volume 50 a 1000 sample plays as %d, want 500", first[0])
	}
	if second[period/2-1] != 500 || second[period/2] != 0 || second[period-1] != 0 {
		t.Errorf("when the queue runs dry the rest of the period must be silence, got %d then %d", second[period/2-1], second[period/2])
	}
	for _, v := range third {
		if v != 0 {
			t.Fatalf("an empty queue played %d, want silence", v)
		}
	}
	if st := r.s.Stats(); st.Underruns != 1 || st.Played != 3*period {
		t.Errorf("underruns %d played %d, want 1 underrun (idle silence is not one) and %d played", st.Underruns, st.Played, 3*period)
	}

	if err := r.s.Read(ctx, make([]int16, 3*period)); err != nil { // what the microphone heard so far
		t.Fatal(err)
	}
	r.s.SetMute(true)
	r.tick(10*time.Millisecond, constant(1234, period))
	r.tick(10*time.Millisecond, constant(1234, period))
	buf := make([]int16, 2*period)
	if err := r.s.Read(ctx, buf); err != nil {
		t.Fatal(err)
	}
	for _, v := range buf {
		if v != 0 {
			t.Fatalf("muted microphone delivered %d, want silence", v)
		}
	}
	r.s.SetMute(false)
	r.tick(10*time.Millisecond, constant(1234, period))
	r.tick(10*time.Millisecond, constant(1234, period))
	if err := r.s.Read(ctx, buf); err != nil || buf[0] != 1234 {
		t.Errorf("unmuted microphone delivered %d (%v), want 1234", buf[0], err)
	}
}

// Write blocks while the 60 ms queue is full and goes on as the callback
// plays it.
func TestWriteBlocksUntilPlayed(t *testing.T) {
	r := newRig()
	done := make(chan error)
	go func() { done <- r.s.Write(context.Background(), constant(9, 10*period)) }()
	var played []int16
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if len(played) < 4*period {
				t.Errorf("Write of 100 ms returned after %d samples were played; the queue holds only 60 ms", len(played))
			}
			return
		default:
		}
		if r.s.spkQ.len() == 0 {
			continue // let the writer fill the queue first
		}
		played = append(played, r.tick(10*time.Millisecond, nil)...)
	}
}

func TestUnplugWakesReaderAndWriter(t *testing.T) {
	r := newRig()
	readErr := make(chan error)
	go func() { readErr <- r.s.Read(context.Background(), make([]int16, 960)) }()
	writeErr := make(chan error)
	go func() { writeErr <- r.s.Write(context.Background(), make([]int16, audio.SampleRate)) }()
	r.s.stopped() // miniaudio: the device stopped and nobody asked
	for _, c := range []chan error{readErr, writeErr} {
		if err := <-c; !errors.Is(err, audio.ErrUnplugged) {
			t.Errorf("blocked call after unplug = %v, want audio.ErrUnplugged", err)
		}
	}
	if st := r.s.Status(); st.Present || st.Error != UnpluggedMessage {
		t.Errorf("status %+v, want absent: %q", st, UnpluggedMessage)
	}
}
