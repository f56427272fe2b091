package audio

import (
	"math"
	"testing"
	"time"
)

func TestToneLevelFrequencyAndLength(t *testing.T) {
	tests := []struct {
		hz, dbfs float64
		d        time.Duration
	}{
		{TestToneHz, TestToneDBFS, TestToneDuration},
		{440, -6, 500 * time.Millisecond},
		{1000, 0, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		g := NewTone(tt.hz, tt.dbfs, tt.d)
		var all []int16
		buf := make([]int16, 960)
		for !g.Done() {
			n := g.Fill(buf)
			all = append(all, buf[:n]...)
		}
		if g.Fill(buf) != 0 {
			t.Errorf("%v Hz: Fill after the end wrote samples", tt.hz)
		}
		if want := int(tt.d * SampleRate / time.Second); len(all) != want {
			t.Errorf("%v Hz for %v: %d samples, want %d", tt.hz, tt.d, len(all), want)
		}
		m := NewLevelMeter()
		m.Write(all[480 : len(all)-480]) // the steady part, without the fades
		rms, peak := m.Level()
		if math.Abs(peak-tt.dbfs) > 0.1 || math.Abs(rms-(tt.dbfs-3.01)) > 0.1 {
			t.Errorf("%v Hz at %v dBFS measures peak %.2f, RMS %.2f dBFS", tt.hz, tt.dbfs, peak, rms)
		}
		crossings := 0
		for i := 1; i < len(all); i++ {
			if (all[i-1] < 0) != (all[i] < 0) {
				crossings++
			}
		}
		if hz := float64(crossings) / 2 / tt.d.Seconds(); math.Abs(hz-tt.hz) > 0.02*tt.hz {
			t.Errorf("tone of %v Hz measures %.1f Hz", tt.hz, hz)
		}
		// Fades: no click at either end.
		if all[0] != 0 || math.Abs(float64(all[len(all)-1])) > 1 || math.Abs(float64(all[1])) > 100 {
			t.Errorf("%v Hz: starts %d, %d and ends %d; want fades from and to silence", tt.hz, all[0], all[1], all[len(all)-1])
		}
	}
}

func TestLevelMeterWindow(t *testing.T) {
	m := NewLevelMeter()
	if rms, peak := m.Level(); rms != SilenceDBFS || peak != SilenceDBFS {
		t.Errorf("empty meter: %v %v, want silence", rms, peak)
	}
	loud := make([]int16, 2400)
	for i := range loud {
		loud[i] = 16384 // -6 dBFS, DC
	}
	m.Write(loud)
	if rms, peak := m.Level(); math.Abs(rms+6.02) > 0.01 || math.Abs(peak+6.02) > 0.01 {
		t.Errorf("-6 dBFS: rms %.2f peak %.2f", rms, peak)
	}
	// 100 ms later the loud part has left the window.
	m.Write(make([]int16, 4800))
	if rms, peak := m.Level(); rms != SilenceDBFS || peak != SilenceDBFS {
		t.Errorf("100 ms of silence after a loud part: rms %.2f peak %.2f, want silence", rms, peak)
	}
	m.Write([]int16{-32768})
	if _, peak := m.Level(); peak != 0 {
		t.Errorf("a full-scale sample peaks at %.2f dBFS, want 0", peak)
	}
	m.Reset()
	if rms, _ := m.Level(); rms != SilenceDBFS {
		t.Errorf("after Reset rms %.2f", rms)
	}
}
