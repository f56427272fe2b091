package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsListen: -metrics-listen serves /metrics without a token for
// the monitoring system, while /metrics on -listen still refuses a
// scrape without one.
func TestMetricsListen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	type addrs struct{ main, metrics net.Addr }
	listening := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-listen", "127.0.0.1:0", "-metrics-listen", "127.0.0.1:0", "-livekit", "off",
			"-data", t.TempDir(), "-assets", t.TempDir()},
			func(main, metrics net.Addr) { listening <- addrs{main, metrics} })
	}()
	var a addrs
	select {
	case a = <-listening:
	case err := <-done:
		t.Fatalf("portal stopped before listening: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("portal: %v", err)
		}
	})
	if a.metrics == nil {
		t.Fatal("no metrics listener")
	}

	for _, tc := range []struct {
		name string
		addr net.Addr
		code int
		want string // in the body
	}{
		{"metrics listener, no token", a.metrics, 200, "portal_rooms_total"},
		{"main listener, no token", a.main, 401, "needs an admin API token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get("http://" + tc.addr.String() + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
				t.Errorf("GET /metrics: %d %s, want %d with %q", resp.StatusCode, b, tc.code, tc.want)
			}
			if resp.StatusCode != 200 && strings.Contains(string(b), "portal_") {
				t.Errorf("a refused scrape still shows metrics: %s", b)
			}
		})
	}
}
