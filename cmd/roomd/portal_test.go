package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roomkit/appliance"
	"roomkit/internal/logbuffer"
	"roomkit/portal"
)

// testPortal is a real portal on loopback for the end-to-end tests, and
// an admin API token for it.
type testPortal struct {
	t     *testing.T
	URL   string
	token string
}

// startPortal serves a portal (with the update repository otaDir at
// /ota/ when not empty) until t ends.
func startPortal(t *testing.T, otaDir string) *testPortal {
	ts := httptest.NewUnstartedServer(nil)
	srv, err := portal.New(portal.Config{DataDir: t.TempDir(), URL: "http://" + ts.Listener.Addr().String(), OTADir: otaDir})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(func() { ts.Close(); srv.Close() })
	token, err := srv.CreateAPIToken("tests")
	if err != nil {
		t.Fatal(err)
	}
	return &testPortal{t: t, URL: ts.URL, token: token}
}

// api calls the admin API with a JSON body ("" for none), decodes the
// answer into out when it is not nil, and returns the HTTP status.
func (p *testPortal) api(method, path, body string, out any) int {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		json.Unmarshal(b, out)
	}
	return resp.StatusCode
}

// runKit runs kit until the test ends. The function it returns polls
// cond for up to 30 s (the kit's steps are events on loopback; the bound
// only ends a hang), then fails with the kit's status and log.
func runKit(t *testing.T, kit *appliance.Kit, logs *logbuffer.Buffer) (until func(what string, cond func() bool)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { kit.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				b, _ := json.Marshal(kit.Status())
				t.Fatalf("never: %s\nstatus: %s\nlog:\n%s", what, b, logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
