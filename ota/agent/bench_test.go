package agent

import (
	"context"
	"testing"
	"time"
)

// BenchmarkStreamVerify streams a 64 MiB release through the agent's
// download path (fetch → SHA-256 → gokrazy PUT over a unix socket →
// gokrazy's own hash) into the Fake's partition file.
func BenchmarkStreamVerify(b *testing.B) {
	const size = 64 << 20
	img := image("2.0.0", size)
	a, t, _ := streamAgent(b, img)
	a.src = &fakeRepo{releases: map[string][]byte{"2.0.0": img}}
	a.s.Target = t
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := a.stream(context.Background(), t, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size*b.N)/time.Since(start).Seconds()/1e6, "MB/s")
}
