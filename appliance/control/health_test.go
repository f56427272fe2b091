package control

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"roomkit/health"
)

// Health of the fake kit: failed while its portal is not connected.
func (k *fakeKit) Health(now time.Time) health.Report {
	portal := health.Pass("last heartbeat 4 s ago")
	if !k.Status().PortalConnected {
		portal = health.Fail("unreachable since 09:14 (connection refused)")
	}
	return health.NewTree(health.New(health.NamePortal, func(time.Time) health.Result { return portal })).Evaluate(now)
}

func TestHealthRoute(t *testing.T) {
	offline := readyStatus
	offline.PortalConnected = false
	for _, tc := range []struct {
		name       string
		status     bool // the portal is connected
		wantStatus health.Status
		wantDetail string
	}{
		{"healthy", true, health.OK, "last heartbeat 4 s ago"},
		// A failed kit is still a 200: the request worked.
		{"failed", false, health.Failed, "unreachable since 09:14 (connection refused)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := offline
			st.PortalConnected = tc.status
			addr, dir, token := serve(t, &fakeKit{status: st})

			req, _ := http.NewRequest("GET", "http://"+addr+"/v1/health", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("without the token: %d, want 401", resp.StatusCode)
			}

			req.Header.Set("Authorization", "Bearer "+token)
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var raw struct {
				Status string `json:"status"`
				Checks []struct {
					Name, Status, Detail, Since string
					Checks                      []any
				} `json:"checks"`
			}
			if err := json.Unmarshal(body, &raw); err != nil || resp.StatusCode != 200 {
				t.Fatalf("%d %s: %v", resp.StatusCode, body, err)
			}
			if raw.Status != string(tc.wantStatus) || len(raw.Checks) != 1 || raw.Checks[0].Detail != tc.wantDetail ||
				raw.Checks[0].Since == "" || raw.Checks[0].Checks == nil {
				t.Errorf("got %s", body)
			}

			c, err := Dial(addr, dir)
			if err != nil {
				t.Fatal(err)
			}
			r, err := c.Health(context.Background())
			if err != nil || r.Status != tc.wantStatus {
				t.Errorf("Client.Health = %+v, %v", r, err)
			}
		})
	}
}
