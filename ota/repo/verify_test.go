package repo

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestVerifyURL(t *testing.T) {
	r := newRepo(t)
	first := r.Root()
	publishSim(t, r, "1.0.0")
	publishSim(t, r, "1.1.0-rc.1")
	s := serve(t, r.Dir())
	rep, err := VerifyURL(s.URL+"/", first, time.Now(), nil)
	if err != nil {
		t.Fatalf("VerifyURL: %v", err)
	}
	if len(rep.Releases) != 2 || rep.Releases[0].Release.Version != "1.1.0-rc.1" || !strings.HasPrefix(rep.Releases[0].File, s.URL+"/targets/releases/1.1.0-rc.1/") {
		t.Errorf("releases %+v", rep.Releases)
	}

	// A mirror that serves other bytes for a target.
	files := http.FileServer(http.Dir(r.Dir()))
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, ".sim.root") && strings.Contains(req.URL.Path, "/1.0.0/") {
			w.Write([]byte("sim root 1.0.1"))
			return
		}
		files.ServeHTTP(w, req)
	}))
	defer bad.Close()
	_, err = VerifyURL(bad.URL, first, time.Now(), nil)
	if err == nil || !strings.Contains(err.Error(), "release 1.0.0 for sim: ") || !strings.HasSuffix(err.Error(), "does not match its signed SHA-256") {
		t.Errorf("VerifyURL of a tampering mirror: %v", err)
	}
	if _, err := VerifyURL(s.URL, nil, time.Now(), nil); err == nil {
		t.Error("VerifyURL without a trusted root succeeded")
	}
	// A kit whose clock is past the timestamp's expiry refuses.
	if _, err := VerifyURL(s.URL, first, time.Now().Add(8*24*time.Hour), nil); err == nil || !strings.HasPrefix(err.Error(), "a kit would refuse this repository: ") {
		t.Errorf("VerifyURL 8 days later: %v", err)
	}
}
