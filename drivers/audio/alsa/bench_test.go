package alsa

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"roomkit/drivers/audio"
)

// BenchmarkCallbackToRead measures, on miniaudio's null backend in real
// time, how long after the callback delivers the last microphone samples
// of a 20 ms frame Read returns that frame to the encoder, and the jitter
// of the frames' arrival. Each iteration is one 20 ms frame, so
// -benchtime=3000x is 60 s:
//
//	go test -run '^$' -bench CallbackToRead -benchtime 3000x ./drivers/audio/alsa
func BenchmarkCallbackToRead(b *testing.B) {
	s := openNull(b)
	ctx := context.Background()
	frame := make([]int16, audio.SampleRate/50)
	// Settle: the first frames include the device's start.
	for range 10 {
		if err := s.Read(ctx, frame); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	arrivals := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		if err := s.Read(ctx, frame); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, s.latency())
		arrivals = append(arrivals, s.now())
	}
	b.StopTimer()
	if len(lat) < 2 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	// Jitter: the standard deviation of the intervals between frames,
	// which are 20 ms on average.
	var sum, sumSq float64
	for i := 1; i < len(arrivals); i++ {
		d := float64((arrivals[i] - arrivals[i-1]).Microseconds())
		sum += d
		sumSq += d * d
	}
	n := float64(len(arrivals) - 1)
	mean := sum / n
	b.ReportMetric(pct(0.5), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
	b.ReportMetric(mean, "interval-µs")
	b.ReportMetric(math.Sqrt(max(0, sumSq/n-mean*mean)), "jitter-µs")
	st := s.Stats()
	b.ReportMetric(float64(st.Xruns), "xruns")
	b.ReportMetric(float64(st.Overflows), "dropped")
}

// BenchmarkProcess is the callback's own cost per 10 ms period: what the
// real-time thread spends in Go.
func BenchmarkProcess(b *testing.B) {
	r := newRig()
	in := bytesOf(constant(100, period))
	out := make([]byte, 2*period)
	spk := constant(200, period)
	buf := make([]int16, period)
	b.ReportAllocs()
	for b.Loop() {
		r.s.spkQ.pushSome(spk)
		r.now += 10 * time.Millisecond
		r.s.process(out, in, period)
		r.s.micQ.pop(buf)
	}
}
