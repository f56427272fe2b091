package portalapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"roomkit/provisioning"
	"strings"
	"testing"
	"time"
)

// notPaired is the portal's answer for a device it holds no room for.
var notPaired = answer{401, fmt.Sprintf(`{"error":"invalid_client","error_description":%q}`, provisioning.NotPairedDescription)}

// Only the portal's explicit "not paired" unpairs a kit; every other
// refusal, invalid_client for a bad assertion included, must not match.
func TestNotPairedIsExplicit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    answer
		notPaired bool
	}{
		{"not paired", notPaired, true},
		{"expired assertion", answer{401, `{"error":"invalid_client","error_description":"invalid client assertion: expired"}`}, false},
		{"replayed jti", answer{401, `{"error":"invalid_client","error_description":"this client assertion was already used (jti replayed)"}`}, false},
		{"invalid_client without a description", answer{401, `{"error":"invalid_client"}`}, false},
		{"the words under another code", answer{400, fmt.Sprintf(`{"error":"invalid_grant","error_description":%q}`, provisioning.NotPairedDescription)}, false},
		{"the words with more after them", answer{401, fmt.Sprintf(`{"error":"invalid_client","error_description":%q}`, provisioning.NotPairedDescription+" yet")}, false},
		{"the words in other case", answer{401, fmt.Sprintf(`{"error":"invalid_client","error_description":%q}`, strings.ToUpper(provisioning.NotPairedDescription))}, false},
		{"401 without a body", answer{401, ``}, false},
		{"gateway", answer{502, `bad gateway`}, false},
		{"server error", answer{500, `{"error":"server_error"}`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newScript(t)
			s.on("/oauth/token", tc.answer)
			_, err := c.RefreshToken(context.Background())
			if err == nil {
				t.Fatal("RefreshToken succeeded")
			}
			if got := errors.Is(err, ErrNotPaired); got != tc.notPaired {
				t.Errorf("RefreshToken error %v: matches ErrNotPaired %v, want %v", err, got, tc.notPaired)
			}
		})
	}
}

// A kit whose clock is off signs assertions in the portal's time, which
// it learns from the Date header of the portal's answers.
func TestAssertionsInPortalTime(t *testing.T) {
	for _, skew := range []time.Duration{-3 * time.Minute, 3 * time.Minute, -2 * time.Hour, 365 * 24 * time.Hour, 0} {
		t.Run(skew.String(), func(t *testing.T) {
			s, c := newScript(t) // the script checks every assertion against its own clock
			portal := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
			s.now = func() time.Time { return portal }
			c.Now = func() time.Time { return portal.Add(skew) }
			s.on("/oauth/token", answer{200, tokenJSON})
			if _, err := c.RefreshToken(context.Background()); err != nil {
				t.Fatalf("RefreshToken with the kit's clock %v off: %v", skew, err)
			}
			// Date has whole seconds: the kit is at most a second out.
			if d := c.ClockOffset() + skew; d < -time.Second || d > time.Second {
				t.Errorf("clock offset %v, want about %v", c.ClockOffset(), -skew)
			}
		})
	}
}

// An answer without a Date header keeps what the kit learnt before, and
// the offset counts as measured only once a Date came.
func TestClockOffsetWithoutDate(t *testing.T) {
	dated := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dated {
			w.Header().Set("Date", time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC).Format(http.TimeFormat))
		} else {
			w.Header()["Date"] = nil // net/http then sends none
		}
		w.Write([]byte(`{"room":{"id":"rm_1","name":"B","location":"","time_zone":""}}`))
	}))
	defer srv.Close()
	c := &Client{PortalURL: srv.URL, Now: func() time.Time { return time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC) }}
	if _, known := c.MeasuredClockOffset(); known {
		t.Fatal("an offset measured before any answer")
	}
	if _, err := c.Config(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	if _, known := c.MeasuredClockOffset(); known {
		t.Fatal("an offset measured from an answer without Date")
	}
	dated = true
	if _, err := c.Config(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	want, known := c.MeasuredClockOffset()
	if !known || want != c.ClockOffset() {
		t.Fatalf("measured %v, %v; ClockOffset %v", want, known, c.ClockOffset())
	}
	if want < time.Hour || want > time.Hour+time.Second {
		t.Fatalf("offset %v, want about 1h", want)
	}
	dated = false
	if _, err := c.Config(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	if got := c.ClockOffset(); got != want {
		t.Errorf("an answer without Date changed the offset from %v to %v", want, got)
	}
}

// The client itself refuses plain HTTP beyond loopback, before anything
// leaves the kit, and so does it for an endpoint the metadata names.
func TestClientRefusesPlainHTTP(t *testing.T) {
	c := &Client{PortalURL: "http://192.0.2.1:8080", HTTP: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("the kit sent %s %s", r.Method, r.URL)
		return nil, errors.New("no network here")
	})}}
	if _, err := c.StartPairing(context.Background(), "kit"); !errors.Is(err, provisioning.ErrInsecurePortal) {
		t.Errorf("StartPairing over plain HTTP: %v, want ErrInsecurePortal", err)
	}
	if _, err := c.Heartbeat(context.Background(), "at-secret", Report{}); !errors.Is(err, provisioning.ErrInsecurePortal) {
		t.Errorf("Heartbeat over plain HTTP: %v, want ErrInsecurePortal", err)
	}

	for _, ep := range []string{"http://192.0.2.1/oauth/token", "https://portal.example/oauth/token"} {
		_, err := parseMetadata([]byte(`{"device_authorization_endpoint":"https://portal.example/d","token_endpoint":"`+ep+`"}`), false)
		if insecure := strings.HasPrefix(ep, "http:"); insecure != errors.Is(err, provisioning.ErrInsecurePortal) || !insecure && err != nil {
			t.Errorf("metadata with token_endpoint %s: %v", ep, err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
