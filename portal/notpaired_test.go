package portal

import (
	"net/http"
	"testing"
	"time"

	"roomkit/provisioning"
)

// A kit forgets its room only on the token endpoint's "not paired"
// answer, so the portal gives it for an unknown device and for nothing
// else: a refused assertion is invalid_client with another description.
func TestNotPairedAnswerIsExplicit(t *testing.T) {
	e := newEnv(t)
	paired := e.newKit()
	roomID, _ := e.pairKit(paired, "Boardroom")
	unpaired := e.newKit()
	slowAssertion := func(k *kit) string {
		a, err := provisioning.SignAssertion(k.key, e.srv.tokenEndpoint(), e.clock.Now().Add(-3*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	replayed := paired.assertion()
	if code, m := paired.refreshWith(replayed); code != 200 {
		t.Fatalf("first use of an assertion: %d %v", code, m)
	}
	for _, tc := range []struct {
		name      string
		k         *kit
		assertion string
		notPaired bool
	}{
		{"never paired", unpaired, unpaired.assertion(), true},
		{"never paired, slow clock", unpaired, slowAssertion(unpaired), true}, // nothing to verify it against
		{"paired, slow clock", paired, slowAssertion(paired), false},
		{"paired, replayed jti", paired, replayed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, m := tc.k.refreshWith(tc.assertion)
			if code != 401 || m["error"] != "invalid_client" {
				t.Fatalf("got %d %v, want 401 invalid_client", code, m)
			}
			if got := m["error_description"] == provisioning.NotPairedDescription; got != tc.notPaired {
				t.Errorf("error_description %q: says not paired %v, want %v", m["error_description"], got, tc.notPaired)
			}
		})
	}

	if code, _, b := e.admin("DELETE", "/api/v1/admin/rooms/"+roomID, nil); code != 204 {
		t.Fatalf("unpair: %d %s", code, b)
	}
	if code, m := paired.refresh(); code != 401 || m["error"] != "invalid_client" || m["error_description"] != provisioning.NotPairedDescription {
		t.Errorf("client_credentials after unpairing: %d %v, want invalid_client %q", code, m, provisioning.NotPairedDescription)
	}
}

// Kits set their clocks by the portal's Date header: it is the clock the
// portal checks assertions against, not the machine's.
func TestDateIsThePortalsClock(t *testing.T) {
	e := newEnv(t) // its clock is 2026-11-02 09:00 UTC, not the machine's
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/healthz"} {
		_, hdr, _ := e.do("GET", path, "", nil, nil)
		if got, want := hdr.Get("Date"), e.clock.Now().UTC().Format(http.TimeFormat); got != want {
			t.Errorf("GET %s: Date %q, want the portal's clock %q", path, got, want)
		}
	}
}
