package agent

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"roomkit/ota/gokrazytest"
)

// BenchmarkStreamVerify streams a 64 MiB release through the agent's
// download path (fetch → SHA-256 → gokrazy PUT over a unix socket →
// gokrazy's own hash) into the Fake's partition file.
func BenchmarkStreamVerify(b *testing.B) {
	const size = 64 << 20
	img := image("2.0.0", size)
	sum := sha256.Sum256(img)
	repo := &fakeRepo{releases: map[string][]byte{"2.0.0": img}}
	f := gokrazytest.NewFake(b)
	a, err := New(Config{Host: &fakeHost{}, Target: "amd64", Version: "1.0.0", Gokrazy: f.Client(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	a.src = repo
	t := &target{Version: "2.0.0", URL: "mem://2.0.0", Length: size, SHA256: fmt.Sprintf("%x", sum)}
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
