package systemtest

import (
	"net/http"
	"testing"
	"time"

	"roomkit/appliance"
)

// BenchmarkPairing measures a kit's start to its home screen when the code
// is approved the moment it appears (no human time), on loopback: the
// foundation's target is < 2 s. It reports the whole span (ns/op) and the
// part after approval (approved-to-home-ms).
func BenchmarkPairing(b *testing.B) {
	p := startPortal(b, b.TempDir(), "127.0.0.1:0")
	var afterApproval time.Duration
	for i := 0; b.Loop(); i++ {
		k := startKit(b, b.TempDir(), p.URL)
		st := k.waitState(b, 10*time.Second, appliance.Pairing, hasCode)
		approved := time.Now()
		if code := p.api(b, "POST", "/api/v1/admin/pairings", map[string]string{
			"user_code": st.UserCode, "name": "Bench room", "location": "lab"}, nil); code != http.StatusCreated {
			b.Fatalf("approve: HTTP %d", code)
		}
		k.waitState(b, 10*time.Second, appliance.Ready, nil)
		afterApproval += time.Since(approved)
		k.stop()
	}
	b.ReportMetric(float64(afterApproval.Milliseconds())/float64(b.N), "approved-to-home-ms")
}
