package tufclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkFetch streams a 64 MiB target over loopback HTTP and hashes it,
// as the agent does (without the write to the partition).
func BenchmarkFetch(b *testing.B) {
	image := randomBytes(b, 64<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "x", time.Time{}, bytes.NewReader(image))
	}))
	defer srv.Close()
	c := Candidate{Length: int64(len(image)), URL: srv.URL + "/t"}
	b.SetBytes(c.Length)
	for b.Loop() {
		rc, err := Fetch(context.Background(), Config{BaseURL: srv.URL}, c, 0)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

// BenchmarkLatest is one check against an unchanged repository with a
// warm cache: what a kit pays every hour.
func BenchmarkLatest(b *testing.B) {
	f := newFixture(b)
	f.publish("1.0.0", "sim")
	for b.Loop() {
		if _, ok, err := Latest(context.Background(), f.cfg, "stable", "sim", ""); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
