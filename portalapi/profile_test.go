package portalapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"roomkit/profile"
)

const rev = "0123456789abcdef"

// TestHeartbeatConfig: the answer's "config" reaches the kit field by
// field: what the kit cannot read, or what fails profile.Values.Check,
// is left out and named, never applied; the other fields stay. An answer
// without "config" says nothing; a config without a usable revision is
// known but nil.
func TestHeartbeatConfig(t *testing.T) {
	room := `"room":{"id":"rm_1","name":"B"}`
	for _, tc := range []struct {
		name, config string
		known        bool
		values       string // the config's values as JSON, "" for a nil config
		invalid      []string
	}{
		{"older portal", ``, false, "", nil},
		{"null", `,"config":null`, false, "", nil},
		{"all good", `,"config":{"revision":"` + rev + `","values":{"volume":40,"display_rotation":90,"camera":{"name":"Logitech","prefer_1080p":true},"language":"en"}}`,
			true, `{"language":"en","display_rotation":90,"volume":40,"camera":{"name":"Logitech","prefer_1080p":true}}`, nil},
		{"a bad volume costs the volume only", `,"config":{"revision":"` + rev + `","values":{"volume":130,"display_rotation":180}}`,
			true, `{"display_rotation":180}`, []string{"volume"}},
		{"unreadable fields", `,"config":{"revision":"` + rev + `","values":{"volume":"loud","gpio":[1],"time_zone":"Mars/Olympus","update_channel":"beta"}}`,
			true, `{"update_channel":"beta"}`, []string{"time_zone", "volume", "gpio"}},
		{"a newer portal's field is ignored", `,"config":{"revision":"` + rev + `","values":{"wallpaper":"cats.png","volume":10}}`,
			true, `{"volume":10}`, nil},
		{"no revision", `,"config":{"values":{"volume":10}}`, true, "", nil},
		{"not an object", `,"config":"soon"`, true, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseHeartbeatAnswer(200, []byte(`{`+room+tc.config+`}`))
			if err != nil {
				t.Fatal(err)
			}
			if a.ConfigKnown != tc.known {
				t.Errorf("known %v, want %v", a.ConfigKnown, tc.known)
			}
			got := ""
			if a.Config != nil {
				b, _ := json.Marshal(a.Config.Values)
				got = string(b)
				if a.Config.Revision != rev {
					t.Errorf("revision %q", a.Config.Revision)
				}
			}
			if got != tc.values {
				t.Errorf("values %s\nwant   %s", got, tc.values)
			}
			var fields []string
			for _, r := range a.ConfigInvalid {
				fields = append(fields, r.Field)
				if r.Reason == "" || len(r.Reason) > maxReason {
					t.Errorf("reason %q", r.Reason)
				}
			}
			if strings.Join(fields, ",") != strings.Join(tc.invalid, ",") {
				t.Errorf("invalid %+v, want fields %v", a.ConfigInvalid, tc.invalid)
			}
			// What the kit would report is a status the portal accepts.
			if len(a.ConfigInvalid) > 0 {
				s := profile.Status{Revision: rev, State: profile.Rejected, Rejected: a.ConfigInvalid}
				if err := s.Check(); err != nil {
					t.Errorf("the portal would refuse the status: %v", err)
				}
			}
		})
	}
}

// TestHeartbeatSendsConfig: the report's "config" goes only when set,
// with reasons cut to what the portal accepts.
func TestHeartbeatSendsConfig(t *testing.T) {
	var got map[string]json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = nil
		json.NewDecoder(r.Body).Decode(&got)
		w.Write([]byte(`{"room":{"id":"rm_1","name":"B"}}`))
	}))
	defer srv.Close()
	c := &Client{PortalURL: srv.URL}
	if _, err := c.Heartbeat(context.Background(), "t", Report{State: "ready"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["config"]; ok {
		t.Errorf("a report without Config sent %s", got["config"])
	}
	st := &profile.Status{Revision: rev, State: profile.Rejected,
		Rejected: []profile.Rejection{{Field: "camera", Reason: "no camera named Logitech; found: " + strings.Repeat("HD\x1b[31m ", 80)}}}
	if _, err := c.Heartbeat(context.Background(), "t", Report{State: "ready", Config: st}); err != nil {
		t.Fatal(err)
	}
	var sent profile.Status
	if err := json.Unmarshal(got["config"], &sent); err != nil {
		t.Fatalf("config sent: %s: %v", got["config"], err)
	}
	if err := sent.Check(); err != nil {
		t.Errorf("the portal would refuse the config sent (%s): %v", got["config"], err)
	}
	if strings.Contains(st.Rejected[0].Reason, "…") {
		t.Error("Heartbeat changed the caller's status")
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"revision":"` + rev + `","values":{"volume":40,"gpio":{"mute_button":"GPIO17"},"update_window":{"start":"01:00","end":"04:00"}}}`))
	f.Add([]byte(`{"revision":"` + rev + `","values":{"camera":{"name":7},"language":"xx-"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, invalid := parseConfig(raw)
		if c == nil {
			if invalid != nil {
				t.Errorf("no config, but invalid fields %+v", invalid)
			}
			return
		}
		if err := c.Values.Check(); err != nil {
			t.Errorf("kept values that fail Check: %v", err)
		}
		if len(invalid) > 0 {
			if err := (profile.Status{Revision: c.Revision, State: profile.Rejected, Rejected: invalid}).Check(); err != nil {
				t.Errorf("a status the portal refuses: %v", err)
			}
		}
	})
}
