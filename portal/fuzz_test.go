package portal

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzTokenRequest(f *testing.F) {
	f.Add("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c")
	f.Add("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=x")
	f.Add("grant_type=%zz&&&=")
	f.Fuzz(func(t *testing.T, body string) {
		form, oe := parseForm(body)
		if oe != nil {
			if oe.Code != "invalid_request" {
				t.Fatalf("form error %q", oe.Code)
			}
			return
		}
		req, oe := parseTokenRequest(form)
		if oe != nil {
			switch oe.Code {
			case "invalid_request", "unsupported_grant_type", "invalid_client":
			default:
				t.Fatalf("unexpected error code %q", oe.Code)
			}
			return
		}
		if req.assertion == "" || (req.grantType == grantDeviceCode && req.deviceCode == "") {
			t.Fatalf("accepted an incomplete request: %+v", req)
		}
	})
}

func FuzzHeartbeat(f *testing.F) {
	f.Add([]byte(goodHeartbeat))
	f.Add([]byte(`{"state":"ready","devices":null}`))
	f.Add([]byte(`{"state":"x"} {}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		hb, err := parseHeartbeat(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if hb.State == "" || len(hb.State) > maxStateLen || !utf8.ValidString(hb.Version) || hb.Devices == nil || len(hb.Devices) > maxDevices {
			t.Fatalf("accepted %+v", hb)
		}
	})
}

func FuzzPairRequest(f *testing.F) {
	f.Add([]byte(`{"user_code":"BCDF-GHJK","name":"Boardroom","location":"3rd floor","time_zone":"Europe/Zurich"}`))
	f.Add([]byte(`{"user_code":"x","time_zone":"../../etc/passwd","name":"a"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parsePairRequest(body)
		if err != nil {
			return
		}
		if herr := checkRoomFields(&req); herr == nil {
			if req.Name == "" || strings.HasPrefix(req.TimeZone, "/") || utf8.RuneCountInString(req.Name) > maxRoomFieldRunes {
				t.Fatalf("accepted %+v", req)
			}
		} else if herr.status != 400 || herr.msg == "" {
			t.Fatalf("bad error %+v", herr)
		}
	})
}

// FuzzWebhookRequest: whatever an admin (or a script) sends to add a
// webhook is refused in words or kept as an http(s) URL without
// credentials, and the secret that is kept fits the rules.
func FuzzWebhookRequest(f *testing.F) {
	f.Add([]byte(`{"url":"https://alerts.example.com/roomkit","secret":"0123456789abcdef"}`))
	f.Add([]byte(`{"url":"http://user:pw@x/","secret":""}`))
	f.Add([]byte(`{"url":"https://x/\u0000"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req webhookRequest
		if err := decodeStrict(body, &req); err != nil {
			return
		}
		u, err := checkWebhook(req.URL, req.Secret)
		if err != nil {
			if msg := err.Error(); msg == "" || !utf8.ValidString(msg) {
				t.Fatalf("error %q", msg)
			}
			return
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") || strings.Contains(u, "@") && strings.Contains(strings.SplitN(u, "/", 4)[2], "@") {
			t.Fatalf("accepted %q", u)
		}
		if req.Secret != "" && (len(req.Secret) < minSecretLen || len(req.Secret) > maxSecretLen) {
			t.Fatalf("accepted a secret of %d bytes", len(req.Secret))
		}
	})
}

// FuzzFleetQuery feeds the rooms list's query string (the rooms page's
// URL, GET /api/v1/admin/rooms) to its parser: it must not panic, an
// accepted view must survive its own links unchanged, and its SQL must
// have one argument a placeholder.
func FuzzFleetQuery(f *testing.F) {
	for _, s := range []string{"", "health=failed&online=false", "q=50%25_x&sort=name&page=3&per_page=20",
		"group=hq&location=Floor+1&version=1.5.0&update=rolled-back&attention=true", "page=0", "health=ok&health=failed", "q=%E2%80%AE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseFleetQuery(v, true)
		if err != nil {
			return
		}
		again, err := parseFleetQuery(q.values(q.Page), true)
		if err != nil {
			t.Fatalf("the view's own link %q is refused: %v", q.values(q.Page).Encode(), err)
		}
		if !sameFleetQuery(q, again) {
			t.Fatalf("round trip: %+v, then %+v", q, again)
		}
		where, args := q.where(time.Unix(0, 0), nil)
		if strings.Count(where, "?") != len(args) {
			t.Fatalf("%q has %d arguments", where, len(args))
		}
	})
}

// sameFleetQuery compares views, the pointers by what they point to.
func sameFleetQuery(a, b fleetQuery) bool {
	if boolString(a.Online) != boolString(b.Online) || boolString(a.Attention) != boolString(b.Attention) {
		return false
	}
	a.Online, a.Attention, b.Online, b.Attention = nil, nil, nil, nil
	return a == b
}
