package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"roomkit/portalapi"
)

// BenchmarkKitHeartbeat is the simulator's CPU per heartbeat (it shares
// the machine with the portals): the kit's report, the client's request
// and its reading of the answer, against a canned answer on loopback.
func BenchmarkKitHeartbeat(b *testing.B) {
	answer := []byte(`{"room":{"id":"rm_1","name":"Fleet room 1","location":"","time_zone":"UTC","label":""},"update":{"channel":"stable","auto":true,"window_start":"02:00","window_end":"05:00"},"actions":[]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	defer srv.Close()
	c := &portalapi.Client{PortalURL: srv.URL, HTTP: srv.Client(), AllowPlainHTTP: true}
	k := newKit(1, nil, c, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	k.policySeen, k.actionsSeen = true, true
	b.ReportAllocs()
	for b.Loop() {
		k.step(habits{Interval: 15 * time.Second})
		ans, err := c.Heartbeat(context.Background(), "tok", k.report())
		if err != nil {
			b.Fatal(err)
		}
		k.answered(ans, time.Millisecond)
	}
}
