package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
