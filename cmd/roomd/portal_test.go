package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roomkit/appliance"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera/cameratest"
	"roomkit/drivers/display/displaytest"
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

// pair pairs the kit that shows userCode as a room named name (in
// timeZone, "" for the portal's default) and returns the room's ID.
func (p *testPortal) pair(userCode, name, timeZone string) (roomID string) {
	p.t.Helper()
	body, _ := json.Marshal(struct {
		UserCode string `json:"user_code"`
		Name     string `json:"name"`
		TimeZone string `json:"time_zone,omitempty"`
	}{userCode, name, timeZone})
	var paired struct {
		Room struct {
			ID string `json:"id"`
		} `json:"room"`
	}
	if code := p.api("POST", "/api/v1/admin/pairings", string(body), &paired); code != 201 || paired.Room.ID == "" {
		p.t.Fatalf("pairing: %d", code)
	}
	return paired.Room.ID
}

// simKit is a sim kit's configuration as roomd wires it for these tests:
// synthetic devices, a heartbeat every 100 ms.
func simKit(stateDir, portalURL, version string, log *slog.Logger) appliance.Config {
	return appliance.Config{StateDir: stateDir, PortalURL: portalURL, Version: version, Logger: log,
		Display: displaytest.New(640, 360), Camera: cameratest.NewSynthetic(320, 240, 15), Speakerphone: audiotest.NewSynthetic(440),
		HeartbeatInterval: 100 * time.Millisecond}
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
